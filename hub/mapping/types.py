"""Coercion of raw vendor values into the hub's field types.

There is one `coerce_<type>(value, options)` per field type, listed in `COERCERS`. Each returns
the converted value, returns None for a missing value (None, or text that is blank once
stripped), or raises ValueError with a short message that quotes the value and says what was
expected. Full-width characters (digits, `＋`, `：`, `＠` …) are read as their ASCII forms.
Only the date-time coercers read `options` (the field's time zone); the rest ignore it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from hub.mapping.errors import short_repr

__all__ = [
    "COERCERS", "DEFAULT_TIMEZONE", "Coercer", "CoercionOptions", "FieldType",
    "coerce_any", "coerce_bool", "coerce_date", "coerce_datetime", "coerce_decimal",
    "coerce_email", "coerce_float", "coerce_int", "coerce_list", "coerce_mobile",
    "coerce_object", "coerce_str", "is_missing", "map_key", "normalize_mobile",
]

FieldType = Literal[
    "str", "int", "decimal", "float", "bool", "date", "datetime",
    "mobile", "email", "list", "object", "any",
]
DEFAULT_TIMEZONE = "Asia/Shanghai"


class CoercionOptions(Protocol):
    """What a coercer reads from its field (a `FieldSpec` is one)."""

    @property
    def timezone(self) -> str: ...


Coercer = Callable[[Any, CoercionOptions], Any]


def is_missing(value: object) -> bool:
    """True for None and for text that is empty once stripped."""
    return value is None or (isinstance(value, str) and not value.strip())


def map_key(value: object) -> str:
    """The key a raw value is looked up under in a value map: its text, stripped."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def coerce_str(value: Any, _options: CoercionOptions) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return map_key(value)
    if isinstance(value, date):
        return value.isoformat()
    raise ValueError(f"expected text, got {short_repr(value)}")


_CURRENCY = re.compile(r"^([+-]?)\s*(?:[¥$€£]|RMB|CNY)\s*|\s*元$", re.IGNORECASE)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _decimal(value: Any) -> Decimal | None:
    """The finite Decimal a number or numeric text stands for, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = _THOUSANDS.sub("", _CURRENCY.sub(r"\1", _ascii(value)))
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def coerce_int(value: Any, _options: CoercionOptions) -> int | None:
    if is_missing(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _decimal(value)
    if number is None or number != number.to_integral_value():
        raise ValueError(f"{short_repr(value)} is not a whole number")
    return int(number)


def coerce_decimal(value: Any, _options: CoercionOptions) -> Decimal | None:
    if is_missing(value):
        return None
    number = _decimal(value)
    if number is None:
        raise ValueError(f"{short_repr(value)} is not a number")
    return number


def coerce_float(value: Any, _options: CoercionOptions) -> float | None:
    if is_missing(value):
        return None
    number = _decimal(value)
    if number is None:
        raise ValueError(f"{short_repr(value)} is not a number")
    return float(number)


_BOOLS = dict.fromkeys(("true", "1", "yes", "y", "是", "真"), True)
_BOOLS |= dict.fromkeys(("false", "0", "no", "n", "否", "假"), False)


def coerce_bool(value: Any, _options: CoercionOptions) -> bool | None:
    if is_missing(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        number = _decimal(value)
        if number is not None and number in (0, 1):
            return bool(number)
    flag = _BOOLS.get(_ascii(value).lower()) if isinstance(value, str) else None
    if flag is not None:
        return flag
    raise ValueError(f"{short_repr(value)} is not a yes/no value")


_DATE_TIME = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:(?:\s+|T|(?<=日)\s*)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)


def _offset(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _parse_datetime(value: Any) -> datetime | None:
    """The datetime a date or date-time (text or object) stands for; naive if it had no zone."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if not isinstance(value, str):
        return None
    text = _ascii(value)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            int((fraction or "0").ljust(6, "0")), tzinfo=_offset(offset) if offset else None,
        )
    except ValueError:
        return None


def coerce_datetime(value: Any, options: CoercionOptions) -> datetime | None:
    """An aware datetime; a naive one (or a bare date, at midnight) is in `options.timezone`."""
    if is_missing(value):
        return None
    parsed = _parse_datetime(value)
    if parsed is None:
        raise ValueError(f"{short_repr(value)} is not a date and time")
    if parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(options.timezone))
    return parsed


def coerce_date(value: Any, _options: CoercionOptions) -> date | None:
    """A date; a date-time gives its date as written, without converting its zone."""
    if is_missing(value):
        return None
    parsed = _parse_datetime(value)
    if parsed is None:
        raise ValueError(f"{short_repr(value)} is not a date")
    return parsed.date()


_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_MOBILE_NOISE = re.compile(r"[\s\-–—()]")


def _mobile_digits(text: str) -> str:
    digits = _MOBILE_NOISE.sub("", unicodedata.normalize("NFKC", text))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def normalize_mobile(value: str) -> str | None:
    """The 11-digit form of a Chinese mobile number (`+86 138-1234-5678` → `13812345678`).

    Spaces, dashes and parentheses are dropped, full-width digits read as ASCII, and a leading
    `+86`, `0086` or `86` removed when 11 digits remain. None if the result is not a mobile.
    """
    digits = _mobile_digits(value)
    return digits if _MOBILE.fullmatch(digits) else None


def coerce_mobile(value: Any, _options: CoercionOptions) -> str | None:
    if is_missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{short_repr(value)} is not a mobile number")
    text = value if isinstance(value, str) else map_key(value)
    mobile = normalize_mobile(text)
    if mobile is not None:
        return mobile
    digits = _mobile_digits(text)
    if len(digits) == 11 and digits.isdigit():
        raise ValueError(f"{short_repr(value)} is not a mobile number (those start with 13 to 19)")
    raise ValueError(f"{short_repr(value)} is not an 11-digit mobile number")


_EMAIL = re.compile(r"[^@\s]+@(?:[^@\s.]+\.)+[^@\s.]{2,}")


def coerce_email(value: Any, _options: CoercionOptions) -> str | None:
    if is_missing(value):
        return None
    if isinstance(value, str):
        email = _ascii(value).lower()
        if _EMAIL.fullmatch(email):
            return email
    raise ValueError(f"{short_repr(value)} is not an email address")


_LIST_SEPARATORS = re.compile(r"[,，、;；]")


def coerce_list(value: Any, _options: CoercionOptions) -> list[Any] | None:
    """A list (a copy); text is split on commas, `、` and semicolons (ASCII or full-width)."""
    if is_missing(value):
        return None
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        items = [item.strip() for item in _LIST_SEPARATORS.split(value)]
        return [item for item in items if item] or None
    raise ValueError(f"{short_repr(value)} is not a list")


def coerce_object(value: Any, _options: CoercionOptions) -> dict[str, Any] | None:
    if is_missing(value):
        return None
    if isinstance(value, Mapping):
        return value if isinstance(value, dict) else dict(value)
    raise ValueError(f"{short_repr(value)} is not an object")


def coerce_any(value: Any, _options: CoercionOptions) -> Any:
    return None if is_missing(value) else value


COERCERS: Mapping[str, Coercer] = {
    "str": coerce_str, "int": coerce_int, "decimal": coerce_decimal, "float": coerce_float,
    "bool": coerce_bool, "date": coerce_date, "datetime": coerce_datetime,
    "mobile": coerce_mobile, "email": coerce_email, "list": coerce_list,
    "object": coerce_object, "any": coerce_any,
}
