"""The one cursor codec: ids and names round-trip, a cursor of another kind or a forged one is
refused naming `query.cursor`, and every_item follows the cursors to the last page."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hub.core.pages import (
    MAX_ID,
    Page,
    decode_cursor,
    decode_name_cursor,
    encode_cursor,
    every_item,
    page_of,
)
from hub.errors import InvalidRequestError


@pytest.mark.parametrize("key", [1, 42, MAX_ID + 1])
def test_decode_cursor__round_trips_an_id(key: int) -> None:
    assert decode_cursor("run", encode_cursor("run", key)) == key


@pytest.mark.parametrize("name", ["crm", "crm_customers", "工单:同步", "a" * 300])
def test_decode_name_cursor__round_trips_a_name(name: str) -> None:
    assert decode_name_cursor("job", encode_cursor("job", name)) == name


@pytest.mark.parametrize("cursor", [None, ""])
def test_decode__no_cursor_is_the_first_page(cursor: str | None) -> None:
    assert decode_cursor("run", cursor) is None and decode_name_cursor("job", cursor) is None


INVALID: list[tuple[str, Callable[[], object]]] = [
    ("id of another kind", lambda: decode_cursor("outbox", encode_cursor("dead-letter", 5))),
    ("name of another kind", lambda: decode_name_cursor("job", encode_cursor("connection", "a"))),
    ("name where an id goes", lambda: decode_cursor("job", encode_cursor("job", "crm"))),
    ("id zero", lambda: decode_cursor("run", encode_cursor("run", 0))),
    ("id past the column", lambda: decode_cursor("run", encode_cursor("run", MAX_ID + 2))),
    ("empty name", lambda: decode_name_cursor("job", encode_cursor("job", ""))),
    ("NUL in a name", lambda: decode_name_cursor("job", encode_cursor("job", "a\x00"))),
    ("not base64", lambda: decode_cursor("run", "%%%")),
    ("not UTF-8", lambda: decode_name_cursor("job", "__8")),
]


@pytest.mark.parametrize("case", INVALID, ids=[name for name, _ in INVALID])
def test_decode__refuses_naming_the_cursor(case: tuple[str, Callable[[], object]]) -> None:
    _, decode = case
    with pytest.raises(InvalidRequestError, match="not a cursor of this listing") as caught:
        decode()
    assert caught.value.field == "query.cursor"


def test_every_item__follows_the_cursors_to_the_last_page() -> None:
    names = [f"job{i}" for i in range(7)]
    asked: list[str | None] = []

    def fetch(cursor: str | None) -> Page[str]:
        asked.append(cursor)
        after = decode_name_cursor("job", cursor)
        rest = [name for name in names if after is None or name > after]
        return page_of("job", rest[:4], 3, key=lambda name: name, view=str.upper)

    assert list(every_item(fetch)) == [name.upper() for name in names]
    assert asked == [None, encode_cursor("job", "job2"), encode_cursor("job", "job5")]
