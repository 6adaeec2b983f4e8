"""Masking personal values in a JSON document, field by field, as `api.masking` configures.

Pure (no I/O): the API's masking middleware calls it on response bodies; anything else that
shows a document to a caller without the `pii` scope can call it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from .mapping import normalize_mobile
from .mapping._masking import mask_email, mask_id, mask_text

__all__ = ["FieldMasker", "mask_as"]


def _mobile(text: str) -> str:
    return mask_text(normalize_mobile(text) or text.strip(), 3, 4)


def _email(text: str) -> str:
    masked = mask_email(text)
    if masked is not None:
        return masked
    text = text.strip()
    return text[0] + "***" if len(text) > 1 else "***"


def _id_number(text: str) -> str:
    return mask_id(text) or mask_text(text.strip(), 6, 4)


def _name(text: str) -> str:
    text = text.strip()
    return text[0] + "*" * (len(text) - 1) if len(text) > 1 else "*" * len(text)


_KINDS: dict[str, Callable[[str], str]] = {
    "mobile": _mobile, "email": _email, "id_number": _id_number, "name": _name,
}


def mask_as(kind: str, value: Any) -> Any:
    """`value` masked as `kind` (mobile `138****5678`, email `z***@example.com`, id_number
    `110101********1234`, name `张*`); a list has each item masked; a mapping is left to the
    caller's walk. None, booleans and empty text stay as they are."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [mask_as(kind, item) for item in value]
    if isinstance(value, dict):
        return value
    text = value if isinstance(value, str) else str(value)
    if not text.strip():
        return value
    return _KINDS[kind](text)


class FieldMasker:
    """Masks the configured fields of JSON documents, wherever in the document they sit."""

    def __init__(self, fields_by_kind: Mapping[str, list[str]]) -> None:
        unknown = sorted(set(fields_by_kind) - set(_KINDS))
        if unknown:
            raise ValueError(f"unknown masking kind(s) {', '.join(unknown)}; "
                             f"known: {', '.join(_KINDS)}")
        self.kinds: dict[str, str] = {
            name: kind for kind, names in fields_by_kind.items() for name in names}
        # A body that does not contain `"<field>"` as a key needs no parsing at all.
        keys = "|".join(re.escape(json.dumps(name)) for name in sorted(self.kinds, key=len,
                                                                       reverse=True))
        self._probe = re.compile(f"(?:{keys})\\s*:".encode()) if keys else None

    def may_apply(self, body: bytes) -> bool:
        return self._probe is not None and self._probe.search(body) is not None

    def mask_in_place(self, document: Any) -> bool:
        """Mask every configured field of a parsed JSON `document`, in place (responses are
        parsed for this alone: copying them would double the cost); whether anything
        changed."""
        changed = False
        kinds = self.kinds
        if type(document) is dict:
            for key, value in document.items():
                kind = kinds.get(key)
                if kind is not None and type(value) is not dict:
                    masked = mask_as(kind, value)
                    if masked != value:
                        document[key] = masked  # same keys: safe while iterating
                        changed = True
                elif type(value) is dict or type(value) is list:
                    changed = self.mask_in_place(value) or changed
        elif type(document) is list:
            for item in document:
                if type(item) is dict or type(item) is list:
                    changed = self.mask_in_place(item) or changed
        return changed

    def mask_body(self, body: bytes) -> bytes | None:
        """The JSON `body` with its personal fields masked; None when it needs no change
        (no configured field in it, or not JSON at all)."""
        if not self.may_apply(body):
            return None
        try:
            document = json.loads(body)
        except ValueError:
            return None
        if not self.mask_in_place(document):
            return None
        return json.dumps(document, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode()
