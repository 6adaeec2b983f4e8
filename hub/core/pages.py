"""Keyset pagination for listings: opaque cursors naming the last row a page ended on.

A cursor is the base64 of `<kind>:<key>`; the next page holds rows strictly after that key
in the listing's order (newest first, by id), so rows added meanwhile cause neither gaps nor
repeats. A cursor of another listing, or a forged one, is a 422 naming `cursor`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from hub.errors import InvalidRequestError

__all__ = ["DEFAULT_LIMIT", "MAX_ID", "MAX_LIMIT", "Page", "decode_cursor", "encode_cursor",
           "filter_text", "page_of"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_ID = 2**31 - 1  # the store's integer keys: a larger one cannot exist

T = TypeVar("T")
R = TypeVar("R")


class Page(BaseModel, Generic[T]):
    """One page of a listing; pass `next_cursor` as `?cursor=` for the next (null: the end)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"items": [], "next_cursor": "cnVuOjEyMw"}]})

    items: list[T]
    next_cursor: str | None = Field(default=None, examples=["cnVuOjEyMw"])


def encode_cursor(kind: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """The key a cursor names, or None for the first page."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found, _, key = text.partition(":")
        number = int(key)
        if found != kind or not 0 < number <= MAX_ID + 1:
            raise ValueError(kind)
        return number
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequestError(f"cursor: '{cursor}' is not a cursor of this listing; "
                                  "pass the next_cursor of a previous page") from None


def filter_text(name: str, value: str | None) -> str | None:
    """A text filter as given, or a 422 naming it when no stored value could hold it."""
    if value is not None and "\x00" in value:
        raise InvalidRequestError(f"{name}: must not contain NUL characters")
    return value or None


def page_of(kind: str, rows: Sequence[R], limit: int, *, key: Callable[[R], int],
            view: Callable[[R], T]) -> Page[T]:
    """A page from `rows` fetched with `limit + 1`: the extra row only says there is more."""
    more = len(rows) > limit
    shown = rows[:limit]
    return Page[T](items=[view(row) for row in shown],
                   next_cursor=encode_cursor(kind, key(shown[-1])) if more and shown else None)
