"""Text rules every coercer shares: what counts as missing, and full-width forms read as ASCII."""

from __future__ import annotations

import unicodedata

__all__ = ["ascii_text", "is_missing"]


def is_missing(value: object) -> bool:
    """True for None and for text that is empty once stripped."""
    return value is None or (isinstance(value, str) and not value.strip())


def ascii_text(text: str) -> str:
    """`text`, stripped, with compatibility forms (full-width `１＋：`, U+3000) read as ASCII."""
    return text.strip() if text.isascii() else unicodedata.normalize("NFKC", text).strip()
