from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest

from hub.mapping import FieldSpec, FieldType, normalize_mobile
from hub.mapping.types import COERCERS, is_missing, map_key

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLUS8 = timezone(timedelta(hours=8))
FIELD = FieldSpec(path="x")
UTC_FIELD = FieldSpec(path="x", timezone="UTC")

OK: list[tuple[str, Any, Any]] = [
    # str
    ("str", "  王芳 ", "王芳"),
    ("str", 12, "12"),
    ("str", 13812345678.0, "13812345678"),
    ("str", 12.5, "12.5"),
    ("str", Decimal("1E+3"), "1000"),
    ("str", True, "true"),
    ("str", date(2024, 3, 5), "2024-03-05"),
    # int
    ("int", 7, 7),
    ("int", " 1,234 ", 1234),
    ("int", "12.0", 12),
    ("int", "-3", -3),
    ("int", "１２３", 123),
    ("int", 12.0, 12),
    ("int", Decimal("5"), 5),
    # decimal
    ("decimal", "¥1,234.50", Decimal("1234.50")),
    ("decimal", "￥1,234.50", Decimal("1234.50")),
    ("decimal", "-¥5", Decimal("-5")),
    ("decimal", "1234.5", Decimal("1234.5")),
    ("decimal", "88元", Decimal("88")),
    ("decimal", "RMB 10", Decimal("10")),
    ("decimal", 3, Decimal(3)),
    ("decimal", 0.1, Decimal("0.1")),
    # float
    ("float", "1,234.5", 1234.5),
    ("float", 2, 2.0),
    ("float", 0.25, 0.25),
    ("float", Decimal("1.5"), 1.5),
    # bool
    *[("bool", text, True) for text in ["true", "TRUE", "1", "yes", "Y", "是", "真", " 是 "]],
    *[("bool", text, False) for text in ["false", "0", "No", "n", "否", "假"]],
    ("bool", True, True),
    ("bool", 0, False),
    ("bool", 1, True),
    # date
    ("date", "2024-03-05", date(2024, 3, 5)),
    ("date", "2024/3/5", date(2024, 3, 5)),
    ("date", "2024年3月5日", date(2024, 3, 5)),
    ("date", "２０２４-０３-０５", date(2024, 3, 5)),
    ("date", "2024-03-05T23:30:00+00:00", date(2024, 3, 5)),
    ("date", datetime(2024, 3, 5, 10), date(2024, 3, 5)),
    ("date", date(2024, 3, 5), date(2024, 3, 5)),
    # datetime
    ("datetime", "2024-03-05 10:00:00", datetime(2024, 3, 5, 10, tzinfo=SHANGHAI)),
    ("datetime", "2024-03-05T10:00:00+08:00", datetime(2024, 3, 5, 10, tzinfo=PLUS8)),
    ("datetime", "2024-03-05T02:00:00Z", datetime(2024, 3, 5, 2, tzinfo=UTC)),
    ("datetime", "2024-03-05", datetime(2024, 3, 5, tzinfo=SHANGHAI)),
    ("datetime", "2024/3/5", datetime(2024, 3, 5, tzinfo=SHANGHAI)),
    ("datetime", "2024/3/5 9:05", datetime(2024, 3, 5, 9, 5, tzinfo=SHANGHAI)),
    ("datetime", "2024/03/05 10:00:00+0800", datetime(2024, 3, 5, 10, tzinfo=PLUS8)),
    ("datetime", "2024年3月5日 10:00", datetime(2024, 3, 5, 10, tzinfo=SHANGHAI)),
    ("datetime", "2024年3月5日10：00：30", datetime(2024, 3, 5, 10, 0, 30, tzinfo=SHANGHAI)),
    ("datetime", datetime(2024, 3, 5, 10), datetime(2024, 3, 5, 10, tzinfo=SHANGHAI)),
    ("datetime", date(2024, 3, 5), datetime(2024, 3, 5, tzinfo=SHANGHAI)),
    # mobile
    ("mobile", "13812345678", "13812345678"),
    ("mobile", "+86 138-1234-5678", "13812345678"),
    ("mobile", "0086 13812345678", "13812345678"),
    ("mobile", "8613812345678", "13812345678"),
    ("mobile", "(138) 1234 5678", "13812345678"),
    ("mobile", "１３８１２３４５６７８", "13812345678"),
    ("mobile", "＋８６ １３８－１２３４－５６７８", "13812345678"),
    ("mobile", 13812345678, "13812345678"),
    ("mobile", 13812345678.0, "13812345678"),
    # email
    ("email", " Wang.Fang@Example.CN ", "wang.fang@example.cn"),
    ("email", "a＠example.com", "a@example.com"),
    ("email", "x@mail.corp.example.com.cn", "x@mail.corp.example.com.cn"),
    # list
    ("list", ["老客户"], ["老客户"]),
    ("list", [], []),
    ("list", ("a", "b"), ["a", "b"]),
    ("list", "老客户、VIP", ["老客户", "VIP"]),
    ("list", "a, b;c；d，e", ["a", "b", "c", "d", "e"]),
    ("list", "a,,b", ["a", "b"]),
    # object
    ("object", {"k": 1}, {"k": 1}),
    # any
    ("any", {"k": [1]}, {"k": [1]}),
    ("any", 0, 0),
]


@pytest.mark.parametrize(("kind", "raw", "expected"), OK, ids=[f"{c[0]}-{c[1]!r}" for c in OK])
def test_coerce__converts(kind: str, raw: Any, expected: Any) -> None:
    result = COERCERS[kind](raw, FIELD)

    assert result == expected
    assert type(result) is type(expected)
    if isinstance(expected, datetime):
        assert result.utcoffset() == expected.utcoffset()


BAD: list[tuple[str, Any, str]] = [
    ("str", ["a"], "expected text, got ['a']"),
    ("int", "abc", "'abc' is not a whole number"),
    ("int", "12.5", "'12.5' is not a whole number"),
    ("int", 12.5, "12.5 is not a whole number"),
    ("int", True, "True is not a whole number"),
    ("int", "12,34", "'12,34' is not a whole number"),
    ("int", "NaN", "'NaN' is not a whole number"),
    ("decimal", "NaN", "'NaN' is not a number"),
    ("decimal", "inf", "'inf' is not a number"),
    ("decimal", "Infinity", "'Infinity' is not a number"),
    ("decimal", "十二", "'十二' is not a number"),
    ("decimal", False, "False is not a number"),
    ("float", float("nan"), "nan is not a number"),
    ("float", "1.2.3", "'1.2.3' is not a number"),
    ("bool", "maybe", "'maybe' is not a yes/no value"),
    ("bool", "对", "'对' is not a yes/no value"),
    ("bool", 2, "2 is not a yes/no value"),
    ("date", "2024-02-30", "'2024-02-30' is not a date"),
    ("date", "昨天", "'昨天' is not a date"),
    ("datetime", "2024-03-05 25:00", "'2024-03-05 25:00' is not a date and time"),
    ("datetime", 1709604000, "1709604000 is not a date and time"),
    ("mobile", "1380013800", "'1380013800' is not an 11-digit mobile number"),
    ("mobile", "+86 138-1234-567", "'+86 138-1234-567' is not an 11-digit mobile number"),
    ("mobile", "12345678901", "'12345678901' is not a mobile number (those start with 13 to 19)"),
    ("mobile", "138a1234567", "'138a1234567' is not an 11-digit mobile number"),
    ("mobile", True, "True is not a mobile number"),
    ("email", "a@b", "'a@b' is not an email address"),
    ("email", "王芳", "'王芳' is not an email address"),
    ("email", "a b@example.cn", "'a b@example.cn' is not an email address"),
    ("list", 5, "5 is not a list"),
    ("object", "x", "'x' is not an object"),
    ("object", [1], "[1] is not an object"),
]


@pytest.mark.parametrize(("kind", "raw", "message"), BAD, ids=[f"{c[0]}-{c[1]!r}" for c in BAD])
def test_coerce__rejects(kind: str, raw: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        COERCERS[kind](raw, FIELD)

    assert str(caught.value) == message


@pytest.mark.parametrize("kind", sorted(COERCERS))
@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_coerce__missing_is_none(kind: str, raw: Any) -> None:
    assert COERCERS[kind](raw, FIELD) is None


def test_coerce__long_value_is_truncated_in_message() -> None:
    with pytest.raises(ValueError) as caught:
        COERCERS["int"]("x" * 500, FIELD)

    assert len(str(caught.value)) < 70
    assert "…" in str(caught.value)


def test_coerce_datetime__naive_uses_the_field_timezone() -> None:
    result = COERCERS["datetime"]("2024-03-05 10:00", UTC_FIELD)

    assert result == datetime(2024, 3, 5, 10, tzinfo=UTC)


def test_coerce_datetime__keeps_an_explicit_offset() -> None:
    result = COERCERS["datetime"]("2024-03-05T10:00:00-05:00", UTC_FIELD)

    assert result.utcoffset() == timedelta(hours=-5)


def test_coercers__cover_every_field_type() -> None:
    assert set(COERCERS) == set(get_args(FieldType))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138-1234-5678", "13812345678"),
        ("0086-139 0000 1111", "13900001111"),
        ("１９９００００１１１１", "19900001111"),
        ("（+86）13812345678", "13812345678"),
        ("1380013800", None),
        ("010-12345678", None),
        ("86 1381234567", None),
        ("", None),
    ],
)
def test_normalize_mobile__table(raw: str, expected: str | None) -> None:
    assert normalize_mobile(raw) == expected


@pytest.mark.parametrize(
    ("value", "missing"),
    [(None, True), ("", True), (" \t", True), ("\u3000", True), (0, False), ([], False),
     ("0", False), (False, False)],
)
def test_is_missing__table(value: Any, missing: bool) -> None:
    assert is_missing(value) is missing


@pytest.mark.parametrize(
    ("value", "key"), [(" 金卡 ", "金卡"), (1, "1"), (1.0, "1"), (1.5, "1.5"), (True, "True")]
)
def test_map_key__table(value: Any, key: str) -> None:
    assert map_key(value) == key
