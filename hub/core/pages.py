"""Keyset pagination for listings: opaque cursors naming the last row a page ended on.

Every listing answers a `Page`: `{items, next_cursor}`. A cursor is the base64 of
`<kind>:<key>`; the next page holds rows strictly after that key in the listing's order
(newest first by id, or by name for what hub.yaml configures), so rows added meanwhile cause
neither gaps nor repeats. A cursor of another listing, or a forged one, is a 422 naming
`cursor`.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from hub.core.b64url import b64url_decode, b64url_encode
from hub.errors import InvalidRequestError

__all__ = ["DEFAULT_LIMIT", "MAX_ID", "MAX_LIMIT", "Page", "decode_cursor", "decode_name_cursor",
           "encode_cursor", "every_item", "filter_text", "page_of"]

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


def encode_cursor(kind: str, key: int | str) -> str:
    return b64url_encode(f"{kind}:{key}".encode())


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """The row id a cursor names, or None for the first page."""
    if not cursor:
        return None
    try:
        number = int(_key(kind, cursor))
        if not 0 < number <= MAX_ID + 1:
            raise ValueError(kind)
        return number
    except ValueError:
        raise _refused(cursor) from None


def decode_name_cursor(kind: str, cursor: str | None) -> str | None:
    """The name a cursor of a listing by name names, or None for the first page."""
    if not cursor:
        return None
    try:
        name = _key(kind, cursor)
        if not name or "\x00" in name:
            raise ValueError(kind)
        return name
    except ValueError:
        raise _refused(cursor) from None


def _key(kind: str, cursor: str) -> str:
    try:
        text = b64url_decode(cursor).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(kind) from None
    found, _, key = text.partition(":")
    if found != kind:
        raise ValueError(kind)
    return key


def _refused(cursor: str) -> InvalidRequestError:
    return InvalidRequestError(f"cursor: '{cursor}' is not a cursor of this listing; "
                               "pass the next_cursor of a previous page", field="query.cursor")


def filter_text(name: str, value: str | None) -> str | None:
    """A text filter as given, or a 422 naming it when no stored value could hold it."""
    if value is not None and "\x00" in value:
        raise InvalidRequestError(f"{name}: must not contain NUL characters",
                                  field=f"query.{name}")
    return value or None


def page_of(kind: str, rows: Sequence[R], limit: int, *, key: Callable[[R], int | str],
            view: Callable[[R], T]) -> Page[T]:
    """A page from `rows` fetched with `limit + 1`: the extra row only says there is more."""
    more = len(rows) > limit
    shown = rows[:limit]
    return Page[T](items=[view(row) for row in shown],
                   next_cursor=encode_cursor(kind, key(shown[-1])) if more and shown else None)


def every_item(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    """Every item of a listing, following `next_cursor` from the first page to the last."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
