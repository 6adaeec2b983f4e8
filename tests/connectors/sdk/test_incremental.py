"""Incremental cursors: request values, boundary dedupe, lookback, state (table-driven)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.sdk import ConfigError
from connectors.sdk._incremental import MAX_STATE_KEYS
from connectors.sdk.streams import IncrementalCursor, IncrementalState

T0 = "2026-03-01T09:00:00+08:00"
T1 = "2026-03-01T09:00:01+08:00"
T2 = "2026-03-01T09:00:02+08:00"
T5 = "2026-03-01T09:00:05+08:00"


def rec(key: str, at: Any, **extra: Any) -> dict[str, Any]:
    return {"id": key, "updated_at": at, **extra}


def state(cursor: Any, **keys: Any) -> str:
    return IncrementalState(cursor, keys).dumps()


REQUEST_VALUES = [
    # (case, state, options, expected)
    ("first read", None, {}, None),
    ("first read with initial_value", None, {"initial_value": T0}, T0),
    ("as the vendor wrote it", state(T5, A=T5), {}, T5),
    ("bare legacy state", T5, {}, T5),
    ("lookback keeps the offset", state(T5), {"lookback_seconds": 65},
     "2026-03-01T08:59:00+08:00"),
    ("lookback in UTC", state("2026-03-01T01:00:05Z"), {"lookback_seconds": 5},
     "2026-03-01T01:00:00+00:00"),
    ("lookback keeps a space separator", state("2026-03-01 09:00:05+08:00"),
     {"lookback_seconds": 5}, "2026-03-01 09:00:00+08:00"),
    ("lookback keeps a naive time naive", state("2026-03-01T09:00:05"),
     {"lookback_seconds": 5}, "2026-03-01T09:00:00"),
    ("lookback keeps microseconds", state("2026-03-01T09:00:05.250000+08:00"),
     {"lookback_seconds": 0.5}, "2026-03-01T09:00:04.750000+08:00"),
    ("iso as epoch seconds", state(T5), {"request_format": "epoch_s"}, "1772326805"),
    ("iso as epoch ms", state(T5), {"request_format": "epoch_ms", "lookback_seconds": 1},
     "1772326804000"),
    ("epoch seconds, lookback", state(1772326805), {"request_format": "epoch_s",
                                                    "lookback_seconds": 60}, "1772326745"),
    ("epoch ms, lookback in seconds", state(1772326805123), {"request_format": "epoch_ms",
                                                             "lookback_seconds": 1},
     "1772326804123"),
    ("numeric text", state("1772326805"), {"request_format": "epoch_s"}, "1772326805"),
    ("fractional epoch rounds down", state(1772326805.75), {"request_format": "epoch_s"},
     "1772326805"),
]


@pytest.mark.parametrize(("saved", "options", "expected"), [c[1:] for c in REQUEST_VALUES],
                         ids=[c[0] for c in REQUEST_VALUES])
def test_request_value__saved_cursor_minus_lookback(saved: str | None, options: dict[str, Any],
                                                    expected: str | None) -> None:
    assert IncrementalCursor("updated_at", state=saved, **options).request_value() == expected


def test_request_value__for_another_state() -> None:
    cursor = IncrementalCursor("updated_at", lookback_seconds=1)
    assert cursor.request_value(state(T5)) == "2026-03-01T09:00:04+08:00"


def test_request_value__numbers_cannot_be_sent_as_iso() -> None:
    with pytest.raises(ConfigError, match="holds numbers; use format epoch_s or epoch_ms"):
        IncrementalCursor("ts", state=state(17), lookback_seconds=1).request_value()


READS = [
    # (case, saved state, lookback, page of records, emitted ids, new cursor, new keys)
    ("first read takes all, keeps the keys at the max", None, 0,
     [rec("A", T0), rec("B", T1), rec("C", T1)], "ABC", T1, {"B": T1, "C": T1}),
    ("boundary ties already stored are dropped, a new tie is kept", state(T1, B=T1, C=T1), 0,
     [rec("B", T1), rec("C", T1), rec("D", T1)], "D", T1, {"B": T1, "C": T1, "D": T1}),
    ("a stored record changed since is emitted", state(T1, B=T1), 0,
     [rec("B", T1), rec("B", T2, title="new")], "B", T2, {"B": T2}),
    ("out of order within a page still gives the max", None, 0,
     [rec("C", T2), rec("A", T0), rec("B", T5), rec("D", T1)], "CABD", T5, {"B": T5}),
    ("equal instants in other offsets are the same value", state(T1, B=T1), 0,
     [rec("B", "2026-03-01T01:00:01Z"), rec("E", "2026-03-01T01:00:01+00:00")], "E", T1,
     {"B": T1, "E": "2026-03-01T01:00:01+00:00"}),
    ("older than the window asked for is dropped", state(T5, A=T5), 0,
     [rec("Z", T1), rec("A", T5)], "", T5, {"A": T5}),
    ("lookback: a late write inside the window is emitted", state(T5, A=T5, B=T2), 3,
     [rec("B", T2), rec("L", T2), rec("A", T5)], "L", T5, {"A": T5, "B": T2, "L": T2}),
    ("lookback: keys drop out of the window as the max moves", state(T2, A=T0, B=T2), 2,
     [rec("C", T5)], "C", T5, {"C": T5}),
    ("an empty page keeps the state", state(T1, B=T1), 0, [], "", T1, {"B": T1}),
    ("numeric cursors", state(100, A=100), 0, [rec("A", 100), rec("B", 100), rec("C", 101)],
     "BC", 101, {"C": 101}),
]


@pytest.mark.parametrize(("saved", "lookback", "records", "emitted", "cursor", "keys"),
                         [c[1:] for c in READS], ids=[c[0] for c in READS])
def test_filter_and_advance__boundary_and_lookback(
        saved: str | None, lookback: float, records: list[dict[str, Any]], emitted: str,
        cursor: Any, keys: dict[str, Any]) -> None:
    incremental = IncrementalCursor("updated_at", state=saved, lookback_seconds=lookback)
    fresh = incremental.filter(records)
    assert "".join(r["id"] for r in fresh) == emitted
    new_state = incremental.advance(fresh)
    assert json.loads(new_state or "null") == {"cursor": cursor, "keys": keys}


def test_filter__a_changed_record_seen_twice_in_one_read_is_emitted_twice() -> None:
    incremental = IncrementalCursor("updated_at")
    incremental.advance(incremental.filter([rec("A", T0), rec("B", T1)]))
    fresh = incremental.filter([rec("B", T1), rec("A", T2)])
    assert [r["updated_at"] for r in fresh] == [T2]


def test_advance__composite_and_nested_keys() -> None:
    incremental = IncrementalCursor("meta.changed", primary_key=["shop", "id"])
    records = [{"shop": "s1", "id": 1, "meta": {"changed": 7}},
               {"shop": "s2", "id": 1, "meta": {"changed": 7}}]
    saved = incremental.advance(incremental.filter(records))
    assert json.loads(saved or "") == {"cursor": 7, "keys": {'["s1", 1]': 7, '["s2", 1]': 7}}
    resumed = IncrementalCursor("meta.changed", primary_key=["shop", "id"], state=saved)
    assert resumed.filter([*records, {"shop": "s3", "id": 1, "meta": {"changed": 7}}]) == [
        {"shop": "s3", "id": 1, "meta": {"changed": 7}}]


def test_advance__too_many_keys_repeats_rather_than_skips() -> None:
    ties = [rec(f"K{n}", T1) for n in range(MAX_STATE_KEYS + 1)]
    incremental = IncrementalCursor("updated_at")
    saved = incremental.advance(incremental.filter(ties))
    assert json.loads(saved or "") == {"cursor": T1, "keys": {}}
    resumed = IncrementalCursor("updated_at", state=saved)
    assert len(resumed.filter([*ties, rec("NEW", T1)])) == len(ties) + 1


def test_resume__after_a_crash_between_pages_nothing_is_skipped_or_repeated() -> None:
    stream = sorted([rec(f"R{n:02d}", f"2026-03-01T09:00:0{n // 4}+08:00") for n in range(24)],
                    key=lambda r: (r["updated_at"], r["id"]))

    def server(since: str | None) -> list[dict[str, Any]]:  # inclusive filter, pages of 5
        return [r for r in stream if since is None or r["updated_at"] >= since]

    stored: list[str] = []
    first = IncrementalCursor("updated_at", lookback_seconds=1)
    rows = server(first.request_value())
    saved = None
    for start in range(0, 10, 5):  # two pages, then the process dies
        fresh = first.filter(rows[start:start + 5])
        stored.extend(r["id"] for r in fresh)
        saved = first.advance(fresh)
    stream.append(rec("LATE", "2026-03-01T09:00:01+08:00"))  # a late write in the window
    stream.sort(key=lambda r: (r["updated_at"], r["id"]))
    second = IncrementalCursor("updated_at", lookback_seconds=1, state=saved)
    rows = server(second.request_value())
    for start in range(0, len(rows), 5):
        fresh = second.filter(rows[start:start + 5])
        stored.extend(r["id"] for r in fresh)
        second.advance(fresh)
    assert sorted(stored) == sorted(r["id"] for r in stream)
    assert len(stored) == len(set(stored))


@pytest.mark.parametrize(("records", "message"), [
    ([{"id": "A"}], "cursor field 'updated_at' is missing or null"),
    ([rec("A", None)], "cursor field 'updated_at' is missing or null"),
    ([rec("A", "yesterday")], "cursor field 'updated_at' holds 'yesterday': neither an ISO"),
    ([rec("A", True)], "holds True"),
    ([rec("A", T0), rec("B", 17)], "mixes numbers and date-times"),
    ([{"updated_at": T0}], "a record has no primary key id"),
])
def test_filter__unusable_records_are_config_errors(records: list[dict[str, Any]],
                                                    message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        IncrementalCursor("updated_at").filter(records)


def test_filter__missing_cursor_names_the_record() -> None:
    with pytest.raises(ConfigError) as caught:
        IncrementalCursor("updated_at").filter([{"id": "A7"}])
    assert caught.value.record_key == "A7"


@pytest.mark.parametrize(("text", "parsed"), [
    (None, IncrementalState()),
    ("", IncrementalState()),
    (T5, IncrementalState(cursor=T5)),
    ("1772326805", IncrementalState(cursor=1772326805)),
    ('{"cursor": "x", "keys": {"A": "x"}}', IncrementalState("x", {"A": "x"})),
    ('{"cursor": "x"}', IncrementalState("x", {})),
])
def test_state__parse_forms(text: str | None, parsed: IncrementalState) -> None:
    assert IncrementalState.parse(text) == parsed


def test_state__dumps_is_stable_and_keeps_chinese_keys() -> None:
    text = IncrementalState(T1, {"乙": T1, "甲": T1}).dumps()
    assert text == f'{{"cursor":"{T1}","keys":{{"乙":"{T1}","甲":"{T1}"}}}}'
