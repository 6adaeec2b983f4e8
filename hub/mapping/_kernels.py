"""Column kernels: the common coercions and text transforms over a whole column at once.

A kernel takes a column of cells and returns one answer per cell: the value the row engine
(hub.mapping.types and the built-in transforms) gives for that cell, or `UNDECIDED` when the
cell is not in the simple form the kernel knows. A kernel never guesses: every value it
answers is, type and all, the row engine's; it leaves out every cell the row engine would
refuse, so errors are only ever raised, and worded, by the row engine. The property tests in
tests/hub/mapping/test_columnar.py hold each kernel to the coercer over the coercion tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final

from hub.mapping.types import _FULLWIDTH_ALNUM, _is_email

__all__ = ["KERNELS", "TEXT_STEPS", "UNDECIDED", "Kernel"]


class _Undecided:
    """A cell a kernel leaves to the row engine."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDECIDED"


UNDECIDED: Final = _Undecided()
U = UNDECIDED

Kernel = Callable[[Sequence[Any]], list[Any]]

_find_fullwidth = _FULLWIDTH_ALNUM.search


_ONLY_TEXT = {str}


def _all_text(column: Sequence[Any]) -> bool:
    """Whether every cell is exactly a str (not a subclass), checked in C loops."""
    return set(map(type, column)) == _ONLY_TEXT


def coerce_str_column(column: Sequence[Any]) -> list[Any]:
    """`coerce_str` for text with no full-width letter or digit: stripped, or None if blank."""
    if _all_text(column):
        joined = "\x00".join(column)
        if joined.isascii() or _find_fullwidth(joined) is None:
            return [v.strip() or None for v in column]
    return [(v.strip() or None) if type(v) is str and (v.isascii() or _find_fullwidth(v) is None)
            else None if v is None else U for v in column]


def _lines(column: Sequence[Any]) -> str | None:
    """The column as one text, a cell a line, when every cell is text without a line break;
    else None. A scan of it with a `^…$` pattern reads every cell in one call."""
    if not _all_text(column):
        return None
    joined = "\n".join(column)
    return joined if joined.count("\n") == len(column) - 1 else None


def _ascii_lines(column: Sequence[Any]) -> str | None:
    """`_lines`, when all of it is ASCII."""
    text = _lines(column)
    return text if text is not None and text.isascii() else None


def _scan(pattern: re.Pattern[str], text: str, count: int) -> list[str] | None:
    """Group 1 of `pattern` (`^(?:(…)|.*)$`, multiline) for each line of `text`: what the
    line holds, or "" for a line of another form. None if the lines were not all read."""
    found: list[str] = pattern.findall(text)
    return found if len(found) == count else None


# The ASCII forms normalize_mobile reads by dropping spaces and dashes only: 11 digits from
# 13 to 19, after +86, 0086 or 86 (the lengths normalize_mobile checks: 14, 15, 13).
_MOBILE = "(?:\\+86|0086|86)?(1[3-9][0-9]{9})"
_plain_mobile = re.compile(_MOBILE).fullmatch
_mobile_lines = re.compile(f"^(?:{_MOBILE}|.*)$", re.MULTILINE)


def _mobile(text: str) -> Any:
    match = _plain_mobile(text.replace(" ", "").replace("-", ""))
    return U if match is None else match[1]


def coerce_mobile_column(column: Sequence[Any]) -> list[Any]:
    """`coerce_mobile` for ASCII text (`+86 138-1234-5678`, `13812345678`)."""
    text = _ascii_lines(column)
    if text is not None:
        found = _scan(_mobile_lines, text.replace(" ", "").replace("-", ""), len(column))
        if found is not None:
            return [mobile or U for mobile in found]
    return [_mobile(v) if type(v) is str and v.isascii() else None if v is None else U
            for v in column]


_EMAIL = r"([^@\s]++@(?:[^@\s.]++\.)++[^@\s.]{2,}+)"  # as types._is_email, a line at a time
_email_lines = re.compile(f"^(?:{_EMAIL}|.*)$", re.MULTILINE)


def _email(text: str) -> Any:
    email = text.strip().lower()
    return email if _is_email(email) else U


def coerce_email_column(column: Sequence[Any]) -> list[Any]:
    """`coerce_email` for ASCII text: stripped, lower-cased, when it is an address."""
    text = _ascii_lines(column)
    if text is not None:
        found = _scan(_email_lines, text.lower(), len(column))
        if found is not None:
            if "" not in found:
                return found
            return [email if email else _email(cell) for email, cell in
                    zip(found, column, strict=True)]  # with spaces around, or not one
    return [_email(v) if type(v) is str and v.isascii() else None if v is None else U
            for v in column]


# What `_plain` in _numbers.py reads: ASCII digits, optionally grouped by three with commas,
# a sign, a fraction, and ¥ or ￥ before all of it. Nothing Decimal() would also accept
# (spaces, exponents, `_`, NaN) is read here.
_AMOUNT = r"[¥￥]?([+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?)"
_plain_amount = re.compile(_AMOUNT).fullmatch
_amount_lines = re.compile(f"^(?:{_AMOUNT}|.*)$", re.MULTILINE)


def _decimal(text: str) -> Any:
    match = _plain_amount(text)
    if match is None:
        return U
    number = match[1]
    return Decimal(number.replace(",", "") if "," in number else number)


def coerce_decimal_column(column: Sequence[Any]) -> list[Any]:
    """`coerce_decimal` for plain amounts (`1234.5`, `¥1,234.50`)."""
    text = _lines(column)
    if text is not None:
        found = _scan(_amount_lines, text, len(column))
        if found is not None and "" not in found:
            return list(map(Decimal, "\n".join(found).replace(",", "").split("\n")))
    return [_decimal(v) if type(v) is str else None if v is None else U for v in column]


def coerce_int_column(column: Sequence[Any]) -> list[Any]:
    """`coerce_int` for ASCII digits (fewer than 19) and ints."""
    return [int(v) if type(v) is str and v.isdigit() and v.isascii() and len(v) < 19
            else v if type(v) is int else None if v is None else U for v in column]


KERNELS: dict[str, Kernel] = {
    "str": coerce_str_column, "mobile": coerce_mobile_column, "email": coerce_email_column,
    "decimal": coerce_decimal_column, "int": coerce_int_column,
}

# Built-in transforms that are a str method on text and pass None through (see
# _transform_builtins._text_step); any other cell is left to the row engine.
TEXT_STEPS: dict[str, Callable[[str], str]] = {
    "strip": str.strip, "lower": str.lower, "upper": str.upper,
}


def text_step_column(method: Callable[[str], str], column: Sequence[Any]) -> list[Any]:
    """A text transform over a column: text changed, None kept, anything else undecided."""
    if _all_text(column):
        return list(map(method, column))
    return [method(v) if type(v) is str else None if v is None else U for v in column]
