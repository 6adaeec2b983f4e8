"""Date and time parsing for the `date` and `datetime` coercers (rules: `hub.mapping.types`)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from hub.mapping._numbers import is_finite_number
from hub.mapping._text import ascii_text, is_missing
from hub.mapping.errors import short_repr

if TYPE_CHECKING:
    from hub.mapping.types import CoercionOptions

__all__ = ["coerce_date", "coerce_datetime"]

_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    zone = _ZONES.get(name)
    if zone is None:
        zone = _ZONES[name] = ZoneInfo(name)
    return zone


_DATE_TIME = re.compile(
    r"(?P<year>\d{4})(?:(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
    r"|年(?P<cn_month>\d{1,2})月(?P<cn_day>\d{1,2})日?)"
    r"(?:(?:\s*T\s*|\s+|(?<=日))"
    r"(?:(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6}))?)?"
    r"|(?P<cn_hour>\d{1,2})[时点](?:(?P<cn_minute>\d{1,2})分(?:(?P<cn_second>\d{1,2})秒)?)?)"
    r"\s*(?P<offset>Z|[+-]\d{2}:?\d{2})?)?",
    re.ASCII,
)
_EXCEL_BASE = datetime(1899, 12, 30)  # serial 61 is 1900-03-01
_EXCEL_LAST = 2958465  # 9999-12-31
_EXCEL_FAKE_LEAP_DAY = 60


def _offset(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _from_excel(serial: float | Decimal) -> datetime | None:
    day = int(serial)
    if day == _EXCEL_FAKE_LEAP_DAY:
        return None
    millis = round(float(serial - day) * 86_400_000)
    if day < _EXCEL_FAKE_LEAP_DAY:
        day += 1  # Excel counts a 1900-02-29 that never was; before it, the base is a day later
    return _EXCEL_BASE + timedelta(day, 0, 0, millis)  # (days, seconds, µs, ms): no kwargs


def _from_epoch(number: float | Decimal, zone: str, *, millis: bool) -> datetime:
    seconds: float | int
    if not millis:
        seconds = number if isinstance(number, int) else float(number)
    elif isinstance(number, int) and number % 1000 == 0:
        seconds = number // 1000
    else:  # a float is exact to the microsecond until 2255, far past any epoch in use
        seconds = float(number) / 1000
    return datetime.fromtimestamp(seconds, _zone(zone))


def _from_number(number: float | Decimal, zone: str) -> datetime | None:
    """An Excel serial or an epoch, by the number's size (see `hub.mapping.types`)."""
    if not is_finite_number(number) or number < 1:
        return None
    try:
        if number < _EXCEL_LAST + 1:
            return _from_excel(number)
        if 1e9 <= number < 1e11:
            return _from_epoch(number, zone, millis=False)
        if number >= 1e11:
            return _from_epoch(number, zone, millis=True)
    except (OverflowError, OSError, ValueError):  # past year 9999
        pass
    return None


def _from_digits(text: str, zone: str) -> datetime | None:
    """All-digit text: 5 digits an Excel serial, 8 a YYYYMMDD date, 10 or 13 an epoch."""
    if text[0] == "0":
        return None
    if len(text) == 5:
        return _from_excel(int(text))
    if len(text) == 8:
        try:
            return datetime(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return None
    if len(text) in (10, 13):
        return _from_epoch(int(text), zone, millis=len(text) == 13)
    return None


def _from_ymd(text: str, separator: str) -> datetime | None:
    """`2024/3/5`, `2024.3.5`, `2024-3-5` or `2024年3月5日` (no time), without a regex."""
    year, _, rest = text.partition(separator)
    if separator == "年":
        month, found, day = rest.partition("月")
        day = day.removesuffix("日")
    else:
        month, found, day = rest.partition(separator)
    digits = year + month + day
    if (
        found and len(year) == 4 and 0 < len(month) < 3 and 0 < len(day) < 3
        and digits.isdigit() and digits.isascii()
    ):
        try:
            return datetime(int(year), int(month), int(day))
        except ValueError:
            return None
    return None


def _from_text(text: str) -> datetime | None:
    separator = text[4:5]
    if separator in ("/", ".", "-", "年") and len(text) <= 11:
        parsed = _from_ymd(text, separator)
        if parsed is not None:
            return parsed
    if separator not in ("/", ".", "年"):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return None
    year, _, month, day, cn_month, cn_day, hour, minute, second, fraction, *cn, offset = (
        match.groups()
    )
    cn_hour, cn_minute, cn_second = cn
    try:
        return datetime(
            int(year),
            int(month or cn_month),
            int(day or cn_day),
            int(hour or cn_hour or 0),
            int(minute or cn_minute or 0),
            int(second or cn_second or 0),
            int(fraction.ljust(6, "0")) if fraction else 0,
            _offset(offset) if offset else None,
        )
    except ValueError:
        return None


def _parse_datetime(value: Any, zone: str) -> datetime | None:
    """The datetime `value` stands for: naive if written without a zone; an epoch in `zone`."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str):
        text = ascii_text(value)
        if text.isdigit() and text.isascii():
            return _from_digits(text, zone)
        return _from_text(text)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return _from_number(value, zone)
    return None


def _not_a(what: str, value: Any) -> ValueError:
    if is_finite_number(value):
        if value == _EXCEL_FAKE_LEAP_DAY:
            hint = "Excel serial 60 is 1900-02-29, which never was"
        else:
            hint = "a number must be an Excel serial, epoch seconds or epoch milliseconds"
        return ValueError(f"{short_repr(value)} is not {what} ({hint})")
    return ValueError(f"{short_repr(value)} is not {what}")


def coerce_datetime(value: Any, options: CoercionOptions) -> datetime | None:
    """An aware datetime; a naive one (or a bare date, at midnight) is in `options.timezone`."""
    parsed: datetime | None = None
    if type(value) is str and value.isascii() and not value.isdigit():
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
    if parsed is None:
        if is_missing(value):
            return None
        parsed = _parse_datetime(value, options.timezone)
        if parsed is None:
            raise _not_a("a date and time", value)
    if parsed.tzinfo is None:  # combine() is 4x faster than replace(tzinfo=…) on 3.11
        return datetime.combine(parsed, parsed.time(), _zone(options.timezone))
    return parsed


def coerce_date(value: Any, options: CoercionOptions) -> date | None:
    """A date; a date-time gives its date as written, without converting its zone."""
    if type(value) is str and len(value) == 10 and value[4] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    if is_missing(value):
        return None
    parsed = _parse_datetime(value, options.timezone)
    if parsed is None:
        raise _not_a("a date", value)
    return parsed.date()
