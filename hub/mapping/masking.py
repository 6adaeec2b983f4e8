"""Masking personal values (mobile numbers, emails, ID card numbers) for messages and steps."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from hub.mapping.errors import short_repr
from hub.mapping.types import map_key, normalize_mobile

__all__ = ["halfwidth", "mask_email", "mask_id", "mask_text", "mask_value", "quote_value"]

_ID_CARD = re.compile(r"[1-9]\d{16}[\dX]|[1-9]\d{14}", re.ASCII)
_FULLWIDTH = re.compile("[\u3000\uff01-\uff5e\uffe0-\uffe6]")


def _fullwidth_char(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match[0])


def halfwidth(text: str) -> str:
    return text if text.isascii() else _FULLWIDTH.sub(_fullwidth_char, text)


def mask_text(text: str, keep_start: int = 3, keep_end: int = 4, char: str = "*") -> str:
    size = len(text)
    if size > keep_start + keep_end:
        return text[:keep_start] + char * (size - keep_start - keep_end) + text[size - keep_end :]
    if size <= 1:
        return char * size
    return text[0] + char * (size - 1)  # too short to keep both ends: 张三 → 张*


def mask_email(text: str) -> str | None:
    local, at, domain = text.strip().partition("@")
    if not (at and local and "." in domain.strip(".")) or "@" in domain:
        return None
    return f"{local[0]}***@{domain}"


def mask_id(text: str) -> str | None:
    number = halfwidth(text).strip().upper()
    if _ID_CARD.fullmatch(number) is None:
        return None
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_value(value: object) -> str:
    """`value` with its personal part hidden, for an error message or a log.

    A mobile number keeps its first 3 and last 4 digits (`138****5678`), an email its first
    letter and domain (`z***@example.com`), an ID card number its first 6 and last 4
    characters (`110101********123X`); any other text or number keeps only its first character
    (`王***`). None and booleans are shown as they are; other objects by their type (`<dict>`).
    """
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int | float | Decimal):
        value = map_key(value)
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    text = value.strip()
    mobile = normalize_mobile(text)
    if mobile is not None:
        return mask_text(mobile)
    masked = mask_email(text) or mask_id(text)
    if masked is not None:
        return masked
    return text[0] + "***" if len(text) > 1 else "***"


def quote_value(value: object, *, personal: bool) -> str:
    """`value` quoted for a message: masked when personal."""
    if not personal:
        return short_repr(value)
    masked = mask_value(value)
    return repr(masked) if isinstance(value, str | int | float | Decimal) else masked
