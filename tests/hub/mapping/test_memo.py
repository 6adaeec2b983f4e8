"""Remembered coercions (hub/mapping/_memo.py) answer exactly what the coercer answers —
results and error messages — over every text of the coercion tables in test_types.py and
arbitrary text; a mapping parses each distinct text of a remembered field once."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.mapping import RecordMappingError, _codegen, _memo, compile_mapping, parse_spec
from hub.mapping._memo import MEMOIZED, memoized
from hub.mapping.types import COERCERS

from .test_types import BAD, FIELD, OK, STATUS, UTC_FIELD

GOLDEN_TEXTS = sorted({raw for _, raw, _ in [*OK, *BAD] if type(raw) is str})


def outcome(coerce: Any, raw: Any, options: Any) -> tuple[Any, ...]:
    """What a coercion answers, down to the type, the zone and the error's text."""
    try:
        result = coerce(raw, options)
    except ValueError as exc:
        return ("error", type(exc), str(exc))
    offset = getattr(result, "utcoffset", None)
    return ("ok", type(result), repr(result), offset() if callable(offset) and
            getattr(result, "tzinfo", None) else None)


@settings(max_examples=300)
@given(kind=st.sampled_from(sorted(MEMOIZED)),
       options=st.sampled_from([FIELD, UTC_FIELD, STATUS]),
       texts=st.lists(st.sampled_from(GOLDEN_TEXTS) | st.text(max_size=16)
                      | st.sampled_from([1, 45356, 1709604000, None, True]), max_size=24))
def test_remembered_coercion_answers_as_the_coercer(kind: str, options: Any,
                                                     texts: list[Any]) -> None:
    plain = COERCERS[kind]
    remembered = memoized(plain)
    for raw in [*texts, *texts]:  # every value twice: the second answer is remembered
        assert outcome(remembered, raw, options) == outcome(plain, raw, options)


def test_every_golden_text_twice() -> None:
    for kind in sorted(MEMOIZED):
        for options in (FIELD, UTC_FIELD, STATUS):  # one memory per field: its options
            remembered = memoized(COERCERS[kind])
            for raw in [*GOLDEN_TEXTS, *GOLDEN_TEXTS]:
                assert outcome(remembered, raw, options) == \
                    outcome(COERCERS[kind], raw, options), (kind, raw)


def test_memory_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_memo, "SIZE", 8)
    calls: list[str] = []

    def coerce(value: Any, _options: Any) -> Any:
        calls.append(value)
        return value.upper()
    remembered = memoized(coerce)
    for i in range(20):
        assert remembered(f"v{i}", None) == f"V{i}"
    assert remembered("v19", None) == "V19" and len(calls) == 20  # still remembered
    assert remembered("v0", None) == "V0" and len(calls) == 21  # long forgotten


def test_a_mapping_parses_each_distinct_date_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[Any] = []
    coerce_date = COERCERS["date"]

    def counted(value: Any, options: Any) -> Any:
        parsed.append(value)
        return coerce_date(value, options)
    monkeypatch.setattr(_codegen, "COERCERS", {**COERCERS, "date": counted})
    mapping = compile_mapping(parse_spec({"fields": {
        "on": {"path": "日期", "type": "date"}, "name": {"path": "名称"}}}), name="t")

    rows = [mapping({"日期": f"2023年{1 + i % 3}月5日", "名称": f"客户{i}"}) for i in range(30)]

    assert len(parsed) == 3
    assert [row["on"].month for row in rows[:4]] == [1, 2, 3, 1]
    with pytest.raises(RecordMappingError, match="'2023年13月5日' is not a date"):
        mapping({"日期": "2023年13月5日", "名称": "x"})
