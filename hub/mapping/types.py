"""Coercion of raw vendor values into the hub's field types.

There is one `coerce_<type>(value, options)` per field type, listed in `COERCERS`. Each returns
the converted value, returns None for a missing value (None, or text that is blank once
stripped, U+3000 included), or raises ValueError with a short message that quotes the value
and says what was expected. Values that are ambiguous are errors, never guesses.

Text: full-width digits and letters (`１２３`, `ＡＢＣ`) read as ASCII everywhere. A `str`
field keeps every other character as written (a ticket body's `，。：` survive); the numeric,
date, bool, mobile and email coercers also read full-width punctuation (`＋`, `：`, `＠`, `（`).

Numbers (`int`, `decimal`, `float`): plain numbers, and amounts as Chinese business data writes
them: `¥1,234.50`, `￥1,234.50`, `RMB 1,234`, `1,234.50元`, `-¥12`, a unit `千` `万` `百万`
`千万` `亿` `万亿` (`1.2万` → 12000, `3亿` → 300000000), and accounting negatives `(500.00)` /
`（500.00）` → -500.00. Thousands separators must group by three (`12,34` is an error).
`int` rejects a fraction (`1.5`), but not a unit that makes it whole (`1.2万`).

Dates and times (`date`, `datetime`): ISO 8601 (`2024-03-05`, `2024-03-05T14:30:00+08:00`,
`20240305`), `2024/3/5`, `2024.3.5`, `2024年3月5日`, each with an optional time: `14:30`,
`14:30:15.5`, `14时30分`, `14点30分15秒`, and an optional offset (`Z`, `+08:00`, `+0800`).
A 12-hour time (`下午3点`, `3:00 PM`) and day-first or month-first dates (`5/3/2024`) are
errors. Numbers and all-digit text are read by these rules:

    Excel serial   a number 1 ≤ n < 2958466, or 5-digit text: days in Excel's 1900 date
                   system (serial 1 is 1900-01-01, 45356 is 2024-03-05; base 1899-12-30 past
                   Excel's fake 1900-02-29, so serial 60 is an error); a fraction is the time
                   of day, to the millisecond. A wall-clock time, like any naive one.
    epoch seconds  a number 1e9 ≤ n < 1e11 (2001-09-09 to 5138), or 10-digit text.
    epoch millis   a number n ≥ 1e11, or 13-digit text.
    YYYYMMDD       8-digit text (a valid date); as a number, 20240305 is an error.

Any other number (0, 60, 20240305, 999999999) or all-digit text (6 digits, a leading 0) is an
error.

Epochs are UTC instants, converted to the field's time zone. A date-time written without an
offset (Excel serials included) is in the field's zone (`options.timezone`, default
Asia/Shanghai); one written with an offset keeps it. A `date` field takes the date as written
(`2024-03-05T23:30:00+00:00` → 2024-03-05); only an epoch is first converted to the field's zone.

Only the date-time coercers read `options.timezone`, and only `enum` reads `options.values`.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol

from hub.mapping._dates import coerce_date, coerce_datetime
from hub.mapping._numbers import coerce_decimal, coerce_float, coerce_int, is_finite_number
from hub.mapping._text import ascii_text, is_missing
from hub.mapping.errors import short_repr

__all__ = [
    "COERCERS", "DEFAULT_TIMEZONE", "Coercer", "CoercionOptions", "FieldType", "as_mobile",
    "coerce_any", "coerce_bool", "coerce_date", "coerce_datetime", "coerce_decimal",
    "coerce_email", "coerce_enum", "coerce_float", "coerce_int", "coerce_list",
    "coerce_mobile", "coerce_object", "coerce_phone", "coerce_str", "is_missing", "map_key",
    "normalize_mobile", "normalize_phone",
]

FieldType = Literal[
    "str", "int", "decimal", "float", "bool", "date", "datetime",
    "mobile", "phone", "email", "enum", "list", "object", "any",
]
DEFAULT_TIMEZONE = "Asia/Shanghai"


class CoercionOptions(Protocol):
    """What a coercer reads from its field (a `FieldSpec` is one)."""

    @property
    def timezone(self) -> str: ...

    @property
    def values(self) -> tuple[str, ...] | None: ...


Coercer = Callable[[Any, CoercionOptions], Any]


def map_key(value: object) -> str:
    """The key a raw value is looked up under in a value map: its text, stripped."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# ---------------------------------------------------------------- text

_FULLWIDTH_ALNUM = re.compile("[０-９Ａ-Ｚａ-ｚ]")
_find_fullwidth_alnum = _FULLWIDTH_ALNUM.search
_FULLWIDTH_OFFSET = ord("０") - ord("0")


def _halfwidth_alnum(match: re.Match[str]) -> str:
    return chr(ord(match[0]) - _FULLWIDTH_OFFSET)


def coerce_str(value: Any, _options: CoercionOptions) -> str | None:
    if type(value) is str:
        if value.isascii() or _find_fullwidth_alnum(value) is None:
            return value.strip() or None
        return _FULLWIDTH_ALNUM.sub(_halfwidth_alnum, value).strip() or None
    if value is None:
        return None
    if type(value) is int:
        return str(value)
    if isinstance(value, str):
        return coerce_str(str(value), _options)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return map_key(value)
    if isinstance(value, date):
        return value.isoformat()
    raise ValueError(f"expected text, got {short_repr(value)}")


_MAX_CHOICES = 10


def coerce_enum(value: Any, options: CoercionOptions) -> str | None:
    """One of `options.values`: exactly, else ignoring case (giving the value as declared)."""
    text = coerce_str(value, options)
    if text is None:
        return None
    values = options.values or ()
    if text in values:
        return text
    folded = text.casefold()
    for choice in values:
        if choice.casefold() == folded:
            return choice
    if not values:
        raise ValueError(f"{short_repr(value)} is not allowed: the field lists no values")
    shown = ", ".join(values[:_MAX_CHOICES])
    if len(values) > _MAX_CHOICES:
        shown += f", … ({len(values)} in all)"
    message = f"{short_repr(value)} is not one of: {shown}"
    by_fold = {choice.casefold(): choice for choice in values}
    close = difflib.get_close_matches(folded, list(by_fold), n=1)
    if close:
        message += f" (did you mean '{by_fold[close[0]]}'?)"
    raise ValueError(message)


# ---------------------------------------------------------------- bool

_TRUE = ("true", "1", "yes", "y", "t", "on", "是", "真", "对", "有", "√", "✓", "✔", "启用", "开")
_FALSE = ("false", "0", "no", "n", "f", "off", "否", "假", "错", "无", "×", "✗", "✘", "停用", "关")
_BOOLS = dict.fromkeys(_TRUE, True) | dict.fromkeys(_FALSE, False)
_BOOLS |= {key.upper(): flag for key, flag in _BOOLS.items()}
_BOOLS |= {key.title(): flag for key, flag in _BOOLS.items()}


def coerce_bool(value: Any, _options: CoercionOptions) -> bool | None:
    if value is True or value is False:
        return value
    if isinstance(value, str):
        flag = _BOOLS.get(value)
        if flag is None:
            text = ascii_text(value)
            if not text:
                return None
            flag = _BOOLS.get(text.lower())
        if flag is not None:
            return flag
    elif value is None:
        return None
    elif is_finite_number(value) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{short_repr(value)} is not a yes/no value")


# ---------------------------------------------------------------- contacts

_MOBILE_NOISE = re.compile(r"[\s\-–—()]")
_MOBILE_SECOND_DIGITS = frozenset("3456789")


def _is_plain_mobile(text: str) -> bool:
    """`13812345678` exactly: the common case, checked without a regex."""
    return (
        len(text) == 11 and text.isdigit() and text.isascii()
        and text[0] == "1" and text[1] in _MOBILE_SECOND_DIGITS
    )


def _mobile_digits(text: str) -> str:
    if text.isascii():  # two replace() calls are 5x faster than the regex
        digits = text.replace(" ", "").replace("-", "")
    else:
        digits = unicodedata.normalize("NFKC", text)
    if not digits.lstrip("+").isdigit():
        digits = _MOBILE_NOISE.sub("", digits)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def normalize_mobile(value: str) -> str | None:
    """The 11-digit form of a Chinese mobile number (`+86 138-1234-5678` → `13812345678`).

    Spaces, dashes and parentheses are dropped, full-width digits read as ASCII, and a leading
    `+86`, `0086` or `86` removed when 11 digits remain. None if the result is not a mobile.
    """
    if _is_plain_mobile(value):
        return value
    if value.isascii():  # the usual `+86 138-1234-5678`, twice as fast as the general path
        digits = value.replace(" ", "").replace("-", "")
        size = len(digits)
        if size == 14 and digits[:3] == "+86":
            digits = digits[3:]
        elif size == 13 and digits[:2] == "86":
            digits = digits[2:]
        elif size == 15 and digits[:4] == "0086":
            digits = digits[4:]
        if _is_plain_mobile(digits):
            return digits
    digits = _mobile_digits(value)
    return digits if _is_plain_mobile(digits) else None


def coerce_mobile(value: Any, _options: CoercionOptions) -> str | None:
    if isinstance(value, str):
        mobile = normalize_mobile(value)
        if mobile is not None:
            return mobile
        if not value.strip():
            return None
        text = value
    elif value is None:
        return None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = map_key(value)
        mobile = normalize_mobile(text)
        if mobile is not None:
            return mobile
    else:
        raise ValueError(f"{short_repr(value)} is not a mobile number")
    digits = _mobile_digits(text)
    if len(digits) == 11 and digits.isdigit():
        raise ValueError(f"{short_repr(value)} is not a mobile number (those start with 13 to 19)")
    raise ValueError(f"{short_repr(value)} is not an 11-digit mobile number")


# A telephone column: a mobile's 11 digits, or a landline kept as area-number
# (`(0755)8888-6666` → `0755-88886666`, `+86 10 6552 9988` → `010-65529988`), a 400/800
# service number as `400-820-1234`, an extension after `-` (`转 123`, `ext. 123`, `#123`), a
# local number with no area code as its digits. `as_mobile` is the mobile inside such a value
# or None, to fill a mobile column from a telephone column without refusing landlines.
_EXTENSION = re.compile(r"(?:转|分机|ext\.?|x|#)\s*(\d{1,6})\s*$", re.IGNORECASE)
_NOISE = re.compile(r"[\s\-–—()（）.]")
_LANDLINE = re.compile(r"0\d{9,11}")
_SERVICE = re.compile(r"[48]00\d{7}")
_LOCAL = re.compile(r"[2-9]\d{6,7}")


def normalize_phone(value: str) -> str | None:
    """The normal form of a telephone number, or None when the text is not one."""
    text = unicodedata.normalize("NFKC", value).strip()
    mobile = normalize_mobile(text)
    if mobile is not None:
        return mobile
    extension = ""
    match = _EXTENSION.search(text)
    if match:
        extension, text = "-" + match.group(1), text[: match.start()]
    digits = _NOISE.sub("", text)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) in (9, 10, 11):
            rest = digits[len(prefix):]
            digits = rest if rest.startswith("0") or _SERVICE.fullmatch(rest) else "0" + rest
            break
    if _SERVICE.fullmatch(digits):
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}{extension}"
    if _LANDLINE.fullmatch(digits):
        area = 3 if digits[1] in "12" else 4  # 010, 02x: three digits; the rest four
        number = digits[area:]
        if 7 <= len(number) <= 8:
            return f"{digits[:area]}-{number}{extension}"
        return None
    if _LOCAL.fullmatch(digits):
        return digits + extension
    return None


def as_mobile(value: Any) -> str | None:
    """The 11-digit mobile a telephone value holds, or None (a landline, blank, not a phone)."""
    if value is None or isinstance(value, bool):
        return None
    return normalize_mobile(unicodedata.normalize("NFKC", map_key(value)).strip())


def coerce_phone(value: Any, _options: CoercionOptions) -> str | None:
    """A mobile's 11 digits or a landline kept (`0755-88886666`); see `normalize_phone`."""
    if is_missing(value):
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        phone = normalize_phone(map_key(value))
        if phone is not None:
            return phone
    raise ValueError(f"{short_repr(value)} is not a telephone number")


_is_email = re.compile(r"[^@\s]++@(?:[^@\s.]++\.)++[^@\s.]{2,}+").fullmatch


def coerce_email(value: Any, _options: CoercionOptions) -> str | None:
    if isinstance(value, str):
        email = (value.strip() if value.isascii() else ascii_text(value)).lower()
        if _is_email(email):
            return email
        if not email:
            return None
    elif value is None:
        return None
    raise ValueError(f"{short_repr(value)} is not an email address")


# ---------------------------------------------------------------- containers

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
    # A spreadsheet cell showing an error (hub.core.cells.ExcelError); every other coercer
    # refuses it as not of its kind.
    if getattr(value, "is_cell_error", False):
        raise ValueError(f"{short_repr(value)} is not a value")
    return None if is_missing(value) else value


COERCERS: Mapping[str, Coercer] = {
    "str": coerce_str, "int": coerce_int, "decimal": coerce_decimal, "float": coerce_float,
    "bool": coerce_bool, "date": coerce_date, "datetime": coerce_datetime,
    "mobile": coerce_mobile, "phone": coerce_phone, "email": coerce_email, "enum": coerce_enum,
    "list": coerce_list,
    "object": coerce_object, "any": coerce_any,
}
