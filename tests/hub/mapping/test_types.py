from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest

from hub.mapping.types import (
    COERCERS,
    FieldType,
    coerce_date,
    coerce_datetime,
    coerce_enum,
    coerce_str,
    is_missing,
    map_key,
    normalize_mobile,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLUS8 = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Options:
    """A field's coercion options (what a FieldSpec provides)."""

    timezone: str = "Asia/Shanghai"
    values: tuple[str, ...] | None = None


FIELD = Options()
UTC_FIELD = Options(timezone="UTC")
STATUS = Options(values=("open", "Pending", "已解决", "已关闭"))
CHOICES = "open, Pending, 已解决, 已关闭"


def _shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
              second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


OK: list[tuple[str, Any, Any]] = [
    # str: full-width digits and letters become ASCII; CJK punctuation stays
    ("str", "  王芳 ", "王芳"),
    ("str", "\u3000王芳\u3000", "王芳"),
    ("str", "ＡＢＣ１２３", "ABC123"),
    ("str", "ｗａｎｇ　ｆａｎｇ", "wang　fang"),
    ("str", "订单号：ＯＤ２０２４００１，请尽快处理。", "订单号：OD2024001，请尽快处理。"),
    ("str", "您好，我想退货！（急）", "您好，我想退货！（急）"),
    ("str", 12, "12"),
    ("str", 13812345678.0, "13812345678"),
    ("str", 12.5, "12.5"),
    ("str", Decimal("1E+3"), "1000"),
    ("str", True, "true"),
    ("str", date(2024, 3, 5), "2024-03-05"),
    # int
    ("int", 7, 7),
    ("int", "1234", 1234),
    ("int", "12345678901234567890", 12345678901234567890),
    ("int", " 1,234 ", 1234),
    ("int", "1,234,567", 1234567),
    ("int", "12.0", 12),
    ("int", "-3", -3),
    ("int", "１２３", 123),
    ("int", 12.0, 12),
    ("int", Decimal("5"), 5),
    ("int", "1e3", 1000),
    ("int", "1.2万", 12000),
    ("int", "3亿", 300000000),
    ("int", "2.5千", 2500),
    ("int", "1.5万元", 15000),
    ("int", "¥1,234", 1234),
    ("int", "(500)", -500),
    ("int", "（500）", -500),
    # decimal: amounts as Chinese business data writes them
    ("decimal", "1234.5", Decimal("1234.5")),
    ("decimal", "¥1,234.50", Decimal("1234.50")),
    ("decimal", "￥1,234.50", Decimal("1234.50")),
    ("decimal", "¥ 1,234.50", Decimal("1234.50")),
    ("decimal", "RMB 1,234", Decimal("1234")),
    ("decimal", "rmb1234", Decimal("1234")),
    ("decimal", "CNY 88", Decimal("88")),
    ("decimal", "88 CNY", Decimal("88")),
    ("decimal", "1,234.50元", Decimal("1234.50")),
    ("decimal", "88元", Decimal("88")),
    ("decimal", "-¥12", Decimal("-12")),
    ("decimal", "¥-12", Decimal("-12")),
    ("decimal", "-5", Decimal("-5")),
    ("decimal", "+5", Decimal("5")),
    ("decimal", "１，２３４．５０", Decimal("1234.50")),
    ("decimal", "￥１２", Decimal("12")),
    ("decimal", "1.2万", Decimal("12000")),
    ("decimal", "1.2万元", Decimal("12000")),
    ("decimal", "0.5万", Decimal("5000")),
    ("decimal", "1.23456万", Decimal("12345.6")),
    ("decimal", "3亿", Decimal("300000000")),
    ("decimal", "2.5千", Decimal("2500")),
    ("decimal", "1百万", Decimal("1000000")),
    ("decimal", "-¥1.5万", Decimal("-15000")),
    ("decimal", "(500.00)", Decimal("-500.00")),
    ("decimal", "（500.00）", Decimal("-500.00")),
    ("decimal", "(¥1,234.50)", Decimal("-1234.50")),
    ("decimal", 3, Decimal(3)),
    ("decimal", 0.1, Decimal("0.1")),
    ("decimal", Decimal("9.99"), Decimal("9.99")),
    # float
    ("float", "1234.5", 1234.5),
    ("float", "1,234.5", 1234.5),
    ("float", "¥1,234.5", 1234.5),
    ("float", "1.2万", 12000.0),
    ("float", "（0.5）", -0.5),
    ("float", 2, 2.0),
    ("float", 0.25, 0.25),
    ("float", Decimal("1.5"), 1.5),
    # bool
    *[
        ("bool", text, True)
        for text in ["true", "TRUE", "True", "1", "yes", "Y", "t", "on", "ON", " 是 ", "是", "真",
                     "对", "有", "√", "✓", "✔", "启用", "开", "Ｙｅｓ", "\u3000是\u3000"]
    ],
    *[
        ("bool", text, False)
        for text in ["false", "0", "No", "n", "F", "off", "否", "假", "错", "无", "×", "✗", "✘",
                     "停用", "关", "ＦＡＬＳＥ"]
    ],
    ("bool", True, True),
    ("bool", 0, False),
    ("bool", 1, True),
    ("bool", 1.0, True),
    ("bool", Decimal("0"), False),
    # date
    ("date", "2024-03-05", date(2024, 3, 5)),
    ("date", "2024/3/5", date(2024, 3, 5)),
    ("date", "2024.3.5", date(2024, 3, 5)),
    ("date", "2024-3-5", date(2024, 3, 5)),
    ("date", "2024年3月5日", date(2024, 3, 5)),
    ("date", "2024年03月05日", date(2024, 3, 5)),
    ("date", "2024年3月5", date(2024, 3, 5)),
    ("date", "２０２４年３月５日", date(2024, 3, 5)),
    ("date", "２０２４-０３-０５", date(2024, 3, 5)),
    ("date", "20240305", date(2024, 3, 5)),
    ("date", " 20240305 ", date(2024, 3, 5)),
    ("date", "2024年3月5日 14时30分", date(2024, 3, 5)),
    ("date", "2024-03-05T23:30:00+00:00", date(2024, 3, 5)),
    ("date", datetime(2024, 3, 5, 10), date(2024, 3, 5)),
    ("date", date(2024, 3, 5), date(2024, 3, 5)),
    ("date", 45356, date(2024, 3, 5)),
    ("date", 45356.99, date(2024, 3, 5)),
    ("date", Decimal("45356.5"), date(2024, 3, 5)),
    ("date", "45356", date(2024, 3, 5)),
    ("date", 1, date(1900, 1, 1)),
    ("date", 59, date(1900, 2, 28)),
    ("date", 61, date(1900, 3, 1)),
    ("date", 2958465, date(9999, 12, 31)),
    ("date", 1709568000, date(2024, 3, 5)),  # 2024-03-04 16:00 UTC is the 5th in Shanghai
    ("date", "1709568000000", date(2024, 3, 5)),
    # datetime
    ("datetime", "2024-03-05 10:00:00", _shanghai(2024, 3, 5, 10)),
    ("datetime", "2024-03-05 14:30", _shanghai(2024, 3, 5, 14, 30)),
    ("datetime", "2024-03-05T10:00:00+08:00", datetime(2024, 3, 5, 10, tzinfo=PLUS8)),
    ("datetime", "2024-03-05T02:00:00Z", datetime(2024, 3, 5, 2, tzinfo=UTC)),
    ("datetime", "2024-03-05", _shanghai(2024, 3, 5)),
    ("datetime", "20240305", _shanghai(2024, 3, 5)),
    ("datetime", "2024/3/5", _shanghai(2024, 3, 5)),
    ("datetime", "2024.3.5 14:30", _shanghai(2024, 3, 5, 14, 30)),
    ("datetime", "2024/3/5 9:05", _shanghai(2024, 3, 5, 9, 5)),
    ("datetime", "2024/3/5T09:05:07.25", datetime(2024, 3, 5, 9, 5, 7, 250000, tzinfo=SHANGHAI)),
    ("datetime", "2024/03/05 10:00:00+0800", datetime(2024, 3, 5, 10, tzinfo=PLUS8)),
    ("datetime", "2024年3月5日 10:00", _shanghai(2024, 3, 5, 10)),
    ("datetime", "2024年3月5日10：00：30", _shanghai(2024, 3, 5, 10, 0, 30)),
    ("datetime", "2024年3月5日 14时30分", _shanghai(2024, 3, 5, 14, 30)),
    ("datetime", "2024年3月5日14点30分15秒", _shanghai(2024, 3, 5, 14, 30, 15)),
    ("datetime", "2024年3月5日 14时", _shanghai(2024, 3, 5, 14)),
    ("datetime", datetime(2024, 3, 5, 10), _shanghai(2024, 3, 5, 10)),
    ("datetime", date(2024, 3, 5), _shanghai(2024, 3, 5)),
    ("datetime", 45356, _shanghai(2024, 3, 5)),
    ("datetime", 45356.5, _shanghai(2024, 3, 5, 12)),
    ("datetime", 45356.604166666664, _shanghai(2024, 3, 5, 14, 30)),  # float noise rounded
    ("datetime", Decimal("45356.25"), _shanghai(2024, 3, 5, 6)),
    ("datetime", "45356", _shanghai(2024, 3, 5)),
    ("datetime", 1709604000, _shanghai(2024, 3, 5, 10)),
    ("datetime", 1709604000.5, datetime(2024, 3, 5, 10, 0, 0, 500000, tzinfo=SHANGHAI)),
    ("datetime", "1709604000", _shanghai(2024, 3, 5, 10)),
    ("datetime", 1709604000123, datetime(2024, 3, 5, 10, 0, 0, 123000, tzinfo=SHANGHAI)),
    ("datetime", "1709604000123", datetime(2024, 3, 5, 10, 0, 0, 123000, tzinfo=SHANGHAI)),
    ("datetime", "１７０９６０４０００", _shanghai(2024, 3, 5, 10)),
    # phone: a mobile's digits, or a landline kept
    ("phone", "+86 138-1234-5678", "13812345678"),
    ("phone", "0755-88886666", "0755-88886666"),
    ("phone", "(0755)8888-6666", "0755-88886666"),
    ("phone", "０７５５－８８８８６６６６", "0755-88886666"),
    ("phone", "+86 10 6552 9988", "010-65529988"),
    ("phone", "021 6888 1234 转 12", "021-68881234-12"),
    ("phone", "400-820-1234", "400-820-1234"),
    ("phone", "88886666", "88886666"),
    ("phone", "", None),
    # mobile
    ("mobile", "13812345678", "13812345678"),
    ("mobile", "+86 138-1234-5678", "13812345678"),
    ("mobile", "0086 13812345678", "13812345678"),
    ("mobile", "8613812345678", "13812345678"),
    ("mobile", "８６１３８１２３４５６７８", "13812345678"),
    ("mobile", "(+86)13812345678", "13812345678"),
    ("mobile", "（+86）13812345678", "13812345678"),
    ("mobile", "(138) 1234 5678", "13812345678"),
    ("mobile", "１３８１２３４５６７８", "13812345678"),
    ("mobile", "＋８６ １３８－１２３４－５６７８", "13812345678"),
    ("mobile", 13812345678, "13812345678"),
    ("mobile", 13812345678.0, "13812345678"),
    # email
    ("email", " Wang.Fang@Example.CN ", "wang.fang@example.cn"),
    ("email", "a＠example.com", "a@example.com"),
    ("email", "ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｎ", "wang@example.cn"),
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
    if isinstance(expected, Decimal):
        assert str(result) == str(expected)  # same digits and exponent, not only equal


NUMBER_HINT = "(a number must be an Excel serial, epoch seconds or epoch milliseconds)"

BAD: list[tuple[str, Any, str]] = [
    ("str", ["a"], "expected text, got ['a']"),
    # int
    ("int", "abc", "'abc' is not a whole number"),
    ("int", "12.5", "'12.5' is not a whole number"),
    ("int", "1.5", "'1.5' is not a whole number"),
    ("int", "1.23456万", "'1.23456万' is not a whole number"),
    ("int", 12.5, "12.5 is not a whole number"),
    ("int", True, "True is not a whole number"),
    ("int", "12,34", "'12,34' is not a whole number"),
    ("int", "NaN", "'NaN' is not a whole number"),
    ("int", "1_000", "'1_000' is not a whole number"),
    ("int", "1e999999", "'1e999999' is too large a number"),
    # decimal
    ("decimal", "NaN", "'NaN' is not a number"),
    ("decimal", "inf", "'inf' is not a number"),
    ("decimal", "Infinity", "'Infinity' is not a number"),
    ("decimal", "十二", "'十二' is not a number"),
    ("decimal", "١٢٣", "'١٢٣' is not a number"),
    ("decimal", False, "False is not a number"),
    ("decimal", "1,2345", "'1,2345' is not a number"),
    ("decimal", "12,34.5", "'12,34.5' is not a number"),
    ("decimal", "1,234.", "'1,234.' is not a number"),
    ("decimal", "¥", "'¥' is not a number"),
    ("decimal", "万", "'万' is not a number"),
    ("decimal", "1.2万万", "'1.2万万' is not a number"),
    ("decimal", "--5", "'--5' is not a number"),
    ("decimal", "-¥-5", "'-¥-5' is not a number"),
    ("decimal", "-(500)", "'-(500)' is not a number"),
    ("decimal", "(-500)", "'(-500)' is not a number"),
    ("decimal", "(500", "'(500' is not a number"),
    ("decimal", "约100元", "'约100元' is not a number"),
    ("decimal", "100美元", "'100美元' is not a number"),
    # float
    ("float", float("nan"), "nan is not a number"),
    ("float", float("inf"), "inf is not a number"),
    ("float", "1e500", "'1e500' is not a number"),
    ("float", "1.2.3", "'1.2.3' is not a number"),
    # bool
    ("bool", "maybe", "'maybe' is not a yes/no value"),
    ("bool", "冻结", "'冻结' is not a yes/no value"),
    ("bool", 2, "2 is not a yes/no value"),
    ("bool", 0.5, "0.5 is not a yes/no value"),
    # date
    ("date", "2024-02-30", "'2024-02-30' is not a date"),
    ("date", "20240230", "'20240230' is not a date"),
    ("date", "2024/2/30", "'2024/2/30' is not a date"),
    ("date", "2024年13月5日", "'2024年13月5日' is not a date"),
    ("date", "2024年3月5日14", "'2024年3月5日14' is not a date"),
    ("date", "2024年3-5", "'2024年3-5' is not a date"),
    ("date", "昨天", "'昨天' is not a date"),
    ("date", "3/5/2024", "'3/5/2024' is not a date"),
    ("date", "5.3.2024", "'5.3.2024' is not a date"),
    ("date", "24-3-5", "'24-3-5' is not a date"),
    ("date", "2024-3/5", "'2024-3/5' is not a date"),
    ("date", "123456", "'123456' is not a date"),
    ("date", "012345", "'012345' is not a date"),
    ("date", "0000000000", "'0000000000' is not a date"),
    ("date", "45356.5", "'45356.5' is not a date"),
    ("date", 60, "60 is not a date (Excel serial 60 is 1900-02-29, which never was)"),
    ("date", 20240305, f"20240305 is not a date {NUMBER_HINT}"),
    ("date", 0, f"0 is not a date {NUMBER_HINT}"),
    ("date", -1, f"-1 is not a date {NUMBER_HINT}"),
    ("date", 0.5, f"0.5 is not a date {NUMBER_HINT}"),
    ("date", 2958466, f"2958466 is not a date {NUMBER_HINT}"),
    ("date", 10**20, f"100000000000000000000 is not a date {NUMBER_HINT}"),
    ("date", float("nan"), "nan is not a date"),
    ("date", True, "True is not a date"),
    # datetime
    ("datetime", "2024-03-05 25:00", "'2024-03-05 25:00' is not a date and time"),
    ("datetime", "下午3点", "'下午3点' is not a date and time"),
    ("datetime", "2024年3月5日 下午3点", "'2024年3月5日 下午3点' is not a date and time"),
    ("datetime", "2024-03-05 3:00 PM", "'2024-03-05 3:00 PM' is not a date and time"),
    ("datetime", "2024年3月5日 25时", "'2024年3月5日 25时' is not a date and time"),
    ("datetime", 60.5, f"60.5 is not a date and time {NUMBER_HINT}"),
    ("datetime", Decimal(60), "Decimal('60') is not a date and time "
     "(Excel serial 60 is 1900-02-29, which never was)"),
    ("datetime", 999999999, f"999999999 is not a date and time {NUMBER_HINT}"),
    # mobile: a 10-digit number and a wrong prefix have distinct messages
    ("phone", "12", "'12' is not a telephone number"),
    ("phone", "0755-123", "'0755-123' is not a telephone number"),
    ("mobile", "1381234567", "'1381234567' is not an 11-digit mobile number"),
    ("mobile", "1380013800", "'1380013800' is not an 11-digit mobile number"),
    ("mobile", "+86 138-1234-567", "'+86 138-1234-567' is not an 11-digit mobile number"),
    ("mobile", "23812345678", "'23812345678' is not a mobile number (those start with 13 to 19)"),
    ("mobile", "12345678901", "'12345678901' is not a mobile number (those start with 13 to 19)"),
    ("mobile", "138a1234567", "'138a1234567' is not an 11-digit mobile number"),
    ("mobile", "010-12345678", "'010-12345678' is not a mobile number (those start with 13 to 19)"),
    ("mobile", True, "True is not a mobile number"),
    # email
    ("email", "a@b", "'a@b' is not an email address"),
    ("email", "王芳", "'王芳' is not an email address"),
    ("email", "a b@example.cn", "'a b@example.cn' is not an email address"),
    ("email", "a@@example.cn", "'a@@example.cn' is not an email address"),
    ("email", "a@example.c", "'a@example.c' is not an email address"),
    ("email", 5, "5 is not an email address"),
    # containers
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
@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", " \t\n"])
def test_coerce__missing_is_none(kind: str, raw: Any) -> None:
    assert COERCERS[kind](raw, STATUS) is None


def test_coerce__long_value_is_truncated_in_message() -> None:
    with pytest.raises(ValueError) as caught:
        COERCERS["int"]("x" * 500, FIELD)

    assert len(str(caught.value)) < 70
    assert "…" in str(caught.value)


def test_coercers__cover_every_field_type() -> None:
    assert set(COERCERS) == set(get_args(FieldType))


def test_coerce_str__keeps_a_long_ticket_body_except_fullwidth_alnum() -> None:
    body = "您好，订单（ＯＤ１２３）还没到：请查一下。\n谢谢！" * 50

    result = coerce_str(body, FIELD)

    assert result == ("您好，订单（OD123）还没到：请查一下。\n谢谢！" * 50).strip()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("open", "open"),
        ("OPEN", "open"),
        ("pending", "Pending"),
        (" Pending ", "Pending"),
        ("ｏｐｅｎ", "open"),
        ("已解决", "已解决"),
        ("\u3000已关闭", "已关闭"),
    ],
)
def test_coerce_enum__matches_exactly_then_ignoring_case(raw: str, expected: str) -> None:
    assert coerce_enum(raw, STATUS) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("opne", f"'opne' is not one of: {CHOICES} (did you mean 'open'?)"),
        ("PENDNG", f"'PENDNG' is not one of: {CHOICES} (did you mean 'Pending'?)"),
        ("已解決", f"'已解決' is not one of: {CHOICES} (did you mean '已解决'?)"),
        ("xyz", f"'xyz' is not one of: {CHOICES}"),
        (3, f"3 is not one of: {CHOICES}"),
    ],
)
def test_coerce_enum__rejects_with_a_suggestion(raw: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        coerce_enum(raw, STATUS)

    assert str(caught.value) == message


def test_coerce_enum__long_value_lists_are_cut() -> None:
    many = Options(values=tuple(f"v{index}" for index in range(30)))

    with pytest.raises(ValueError) as caught:
        coerce_enum("nope", many)

    assert str(caught.value).endswith("v8, v9, … (30 in all)")


def test_coerce_enum__without_values_rejects() -> None:
    with pytest.raises(ValueError, match="the field lists no values"):
        coerce_enum("open", FIELD)


def test_coerce_datetime__naive_uses_the_field_timezone() -> None:
    result = coerce_datetime("2024-03-05 10:00", UTC_FIELD)

    assert result == datetime(2024, 3, 5, 10, tzinfo=UTC)
    assert result is not None and str(result.tzinfo) == "UTC"


def test_coerce_datetime__keeps_an_explicit_offset() -> None:
    result = coerce_datetime("2024-03-05T10:00:00-05:00", UTC_FIELD)

    assert result is not None and result.utcoffset() == timedelta(hours=-5)


@pytest.mark.parametrize("raw", [1709604000, "1709604000", 1709604000000, "1709604000000"])
@pytest.mark.parametrize(("zone", "wall_clock"), [("UTC", 2), ("Asia/Shanghai", 10)])
def test_coerce_datetime__epoch_is_an_instant_in_the_field_timezone(
    raw: Any, zone: str, wall_clock: int
) -> None:
    result = coerce_datetime(raw, Options(timezone=zone))

    assert result is not None
    assert result == datetime(2024, 3, 5, 2, tzinfo=UTC)
    assert (str(result.tzinfo), result.hour) == (zone, wall_clock)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
def test_coerce_datetime__excel_serial_is_a_wall_clock_time(zone: str) -> None:
    result = coerce_datetime(45356.5, Options(timezone=zone))

    assert result is not None
    assert (result.replace(tzinfo=None), str(result.tzinfo)) == (datetime(2024, 3, 5, 12), zone)


@pytest.mark.parametrize(("zone", "expected"), [("UTC", date(2024, 3, 4)),
                                                ("Asia/Shanghai", date(2024, 3, 5))])
def test_coerce_date__epoch_is_dated_in_the_field_timezone(zone: str, expected: date) -> None:
    assert coerce_date(1709568000, Options(timezone=zone)) == expected


def test_coerce_date__a_datetime_keeps_the_date_as_written() -> None:
    assert coerce_date("2024-03-05T23:30:00-05:00", FIELD) == date(2024, 3, 5)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138-1234-5678", "13812345678"),
        ("0086-139 0000 1111", "13900001111"),
        ("１９９００００１１１１", "19900001111"),
        ("（+86）13812345678", "13812345678"),
        ("(+86)13812345678", "13812345678"),
        ("1380013800", None),
        ("23812345678", None),
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
