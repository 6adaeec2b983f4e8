"""Number parsing for the `int`, `decimal` and `float` coercers (rules: `hub.mapping.types`)."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from hub.mapping._text import ascii_text, is_missing
from hub.mapping.errors import short_repr

if TYPE_CHECKING:
    from hub.mapping.types import CoercionOptions

__all__ = ["coerce_decimal", "coerce_float", "coerce_int", "is_finite_number"]

_AMOUNT = re.compile(
    r"(?P<sign>[+-]?)\s*(?P<currency>[¥$€£]|RMB|CNY)?\s*(?P<sign2>[+-]?)\s*"
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"\s*(?P<unit>万亿|千万|百万|千|万|亿)?\s*(?:元|RMB|CNY)?",
    re.ASCII | re.IGNORECASE,
)
_is_grouped = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII).fullmatch
_MAX_INT_DIGITS = 4300  # as Python's own limit on int(text)
_UNITS = {"千": 3, "万": 4, "百万": 6, "千万": 7, "亿": 8, "万亿": 12}
_ONE = Decimal(1)


def _amount(text: str) -> Decimal | None:
    """The Decimal an amount written by hand stands for (`¥1,234.50`, `1.2万`, `（500）`)."""
    text = ascii_text(text)
    negative = len(text) > 2 and text[0] == "(" and text[-1] == ")"
    match = _AMOUNT.fullmatch(text[1:-1].strip() if negative else text)
    if match is None:
        return None
    sign, _currency, sign2, digits, unit = match.groups()
    if (sign and sign2) or (negative and (sign or sign2)):
        return None
    number = Decimal(digits.replace(",", ""))
    if unit is not None:
        number = number.scaleb(_UNITS[unit])
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:
            number = number.quantize(_ONE)  # 1.2E+4 → 12000
    return -number if negative or "-" in (sign, sign2) else number


def is_finite_number(value: Any) -> bool:
    """True for a finite int, float or Decimal (not a bool)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, Decimal) and value.is_finite()


def _plain(text: str) -> Decimal | None:
    """`1234.5`, `1,234.50` or `¥1,234.50` (ASCII digits), the quick way; else None."""
    if not text.isascii():
        if text[:1] not in ("¥", "￥"):
            return None
        text = text[1:]
        if not text.isascii():
            return None
    if "_" in text:
        return None
    if "," in text:
        # A small regex is 3x faster than checking the groups in Python (split, all(), …).
        text = text.strip()
        if _is_grouped(text) is None:
            return None
        text = text.replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _text_decimal(text: str) -> Decimal | None:
    """The Decimal numeric text stands for (maybe not finite), else None."""
    number = _plain(text)
    if number is not None:
        return number
    try:
        return _amount(text)
    except InvalidOperation:  # beyond Decimal's 28 digits once scaled by a unit
        return None


def _decimal(value: Any) -> Decimal | None:
    """The finite Decimal a number or numeric text stands for, else None."""
    number: Decimal | None
    if isinstance(value, str):
        number = _text_decimal(value)
    elif isinstance(value, bool):
        return None
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        return None
    return number if number is not None and number.is_finite() else None


def coerce_int(value: Any, _options: CoercionOptions) -> int | None:
    if type(value) is int:
        return value
    if type(value) is str and value.isdigit() and value.isascii() and len(value) < 19:
        return int(value)
    if type(value) is float and value.is_integer():
        return int(value)
    if is_missing(value):
        return None
    number = _decimal(value)
    if number is None or number != number.to_integral_value():
        raise ValueError(f"{short_repr(value)} is not a whole number")
    if number.adjusted() >= _MAX_INT_DIGITS:  # int(Decimal("1e999999")) would take minutes
        raise ValueError(f"{short_repr(value)} is too large a number")
    return int(number)


def coerce_decimal(value: Any, _options: CoercionOptions) -> Decimal | None:
    if type(value) is str:
        number = _text_decimal(value)
        if number is not None and number.is_finite():
            return number
        if not value.strip():
            return None
        raise ValueError(f"{short_repr(value)} is not a number")
    if type(value) is int:
        return Decimal(value)
    if value is None:
        return None
    number = _decimal(value)
    if number is None:
        raise ValueError(f"{short_repr(value)} is not a number")
    return number


def coerce_float(value: Any, _options: CoercionOptions) -> float | None:
    if type(value) is float and math.isfinite(value):
        return value
    if type(value) is str and value.isascii() and "_" not in value and "," not in value:
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return number
    if is_missing(value):
        return None
    exact = _decimal(value)
    if exact is not None:
        number = float(exact)
        if math.isfinite(number):
            return number
    raise ValueError(f"{short_repr(value)} is not a number")
