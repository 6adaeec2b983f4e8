"""Attribute documents written a column at a time (hub/ingest/_documents.py) are, byte for
byte, what the row-by-row way writes; a customer batch prepared either way is the same."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.ingest._documents import column_documents
from hub.ingest.writers import _CUSTOMER_SKIP, CustomerWriter

NOW = datetime(2026, 12, 7, tzinfo=UTC)
TEXT = st.text(max_size=10) | st.sampled_from(['"', "\\", "%s", "\n", "é", "𠮷", "\x00", ""])
VALUE = (TEXT | st.none() | st.integers() | st.booleans() | st.floats()
         | st.decimals(allow_nan=False, places=2) | st.dates()
         | st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=8))]))
         | st.lists(st.integers(), max_size=2))
KEYS = st.lists(st.sampled_from(["name", "mobile", "province", "city", "余额", "%d", 'a"b',
                                 "x\\y", "external_id"]), min_size=1, max_size=6, unique=True)


def one_by_one(entities: list[dict[str, Any]]) -> list[str]:
    writer = CustomerWriter()
    return [writer.values({"external_id": "k", **entity}, source="s", mapping="m@1",
                          now=NOW)[0][7] for entity in entities]


@settings(max_examples=300)
@given(keys=KEYS, data=st.data())
def test_column_documents_are_the_row_by_row_text(keys: list[str], data: st.DataObject) -> None:
    kinds = data.draw(st.sampled_from([VALUE, TEXT, TEXT | st.none() | st.decimals(
        allow_nan=False, allow_infinity=False) | st.dates()]))
    rows = data.draw(st.lists(st.tuples(*[kinds] * len(keys)), min_size=1, max_size=8))
    entities = [{"external_id": "k", **dict(zip(keys, row, strict=True))} for row in rows]

    made = column_documents(entities, _CUSTOMER_SKIP)

    if made is not None:
        assert made == one_by_one(entities)


def test_a_batch_of_text_decimals_and_dates_is_made_by_columns() -> None:
    entities = [{"external_id": f"C{i}", "name": f"客户{i}", "province": "浙江省",
                 "note": 'say "hi" \\ 100%', "balance": Decimal(f"{i}.50"),
                 "registered_on": date(2024, 1, 1 + i), "visits": i, "gone": None}
                for i in range(5)]

    made = column_documents(entities, _CUSTOMER_SKIP)

    assert made is not None and made == one_by_one(entities)
    assert made[1] == ('{"province":"浙江省","note":"say \\"hi\\" \\\\ 100%",'
                       '"balance":"1.50","registered_on":"2024-01-02","visits":1,"gone":null}')


def test_a_batch_of_mixed_keys_or_kinds_is_left_to_the_rows() -> None:
    assert column_documents([{"a": "x"}, {"b": "y"}], _CUSTOMER_SKIP) is None
    assert column_documents([{"a": "x", "b": "y"}, {"b": "y", "a": "x"}], _CUSTOMER_SKIP) is None
    assert column_documents([{"a": 1.5}], _CUSTOMER_SKIP) is None
    assert column_documents([{"a": True}], _CUSTOMER_SKIP) is None
    assert column_documents([{"name": "x"}], _CUSTOMER_SKIP) == ["{}"]


def test_a_customer_batch_prepared_by_columns_is_the_row_by_row_one() -> None:
    entities = [{"external_id": f"C{i % 3}", "name": f"客户{i}", "mobile": None, "city": "杭州",
                 "balance": Decimal(i)} for i in range(7)]  # keys met twice: later rows win
    writer = CustomerWriter()

    by_columns = writer.prepare(entities, source="import", mapping="m@1", now=NOW)
    by_rows = CustomerWriter.__mro__[1].prepare(writer, entities, source="import",
                                                mapping="m@1", now=NOW)
    rows = [writer.values(entity, source="import", mapping="m@1", now=NOW)
            for entity in entities]

    assert by_columns == by_rows
    assert [values for values, _ in by_columns.pending.values()] == \
        [rows[i][0] for i in (6, 4, 5)]  # in first-seen order, the last row winning


def test_a_customer_batch_prepared_from_columns_is_the_one_from_its_entities() -> None:
    names = ("external_id", "name", "city", "balance", "visits")
    entities = [{"external_id": f"C{i % 3}", "name": None if i == 2 else f"客户{i}",
                 "city": "杭州", "balance": Decimal(i), "visits": i} for i in range(7)]
    columns = [[entity[name] for entity in entities] for name in names]
    floats = [*columns[:4], [0.5] * 7]  # a kind documents_of leaves to the entities' way
    writer = CustomerWriter()

    for made in (columns, floats):
        expected = writer.prepare([dict(zip(names, row, strict=True))
                                   for row in zip(*made, strict=True)],
                                  source="import", mapping="m@1", now=NOW)
        assert writer.prepare_columns(names, made, source="import", mapping="m@1",
                                      now=NOW) == expected
