"""Value handling of the expression language: truthiness, rendering, operators and size limits."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Mapping
from datetime import date, time
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from hub.mapping.errors import short_repr

__all__ = [
    "DECIMAL_CONTEXT", "MAX_ITEMS", "NUMBER_TYPES", "OPERATIONS", "ORDERINGS", "EvaluationError",
    "Fn", "Scope", "concat", "contains", "exact_number", "find_item", "incomparable", "kind_of",
    "negate", "render", "too_long", "truthy",
]

Scope = Mapping[str, Any]
Fn = Callable[[Scope], Any]  # a compiled expression: a scope in, a value out


class EvaluationError(ValueError):
    """An expression failed on one scope: types that do not go together, a division by zero,
    a function that raised, a result too large. Values are quoted only through short_repr."""


MAX_ITEMS = 100_000
_MAX_INT_BITS = 13_000  # ~3,900 digits: every int stays printable (Python refuses 4,300+)
DECIMAL_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
                          traps=[InvalidOperation, DivisionByZero, Overflow])
NUMBER_TYPES = frozenset({int, float, Decimal})


def kind_of(value: Any) -> str:
    """The language's name for the type of `value`, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    if getattr(value, "is_cell_error", False):
        return repr(value)  # the spreadsheet error #DIV/0!
    return type(value).__name__


def truthy(value: Any) -> bool:
    """Null, false, 0, blank text and empty lists or objects are false."""
    if type(value) is str:
        return value != "" and not value.isspace()
    return bool(value)


def too_long() -> EvaluationError:
    """The error for a result of more than MAX_ITEMS items."""
    return EvaluationError(f"the result would be longer than {MAX_ITEMS:,} items")


def render(value: Any) -> str:
    """`value` as template text."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and max(abs(exponent), abs(value.adjusted())) > MAX_ITEMS:
            raise EvaluationError(f"the number {short_repr(value)} is too long to write out")
        return format(value, "f")
    if isinstance(value, int | float):
        try:
            return str(value)
        except ValueError:  # an int of more than 4,300 digits
            raise EvaluationError("the number is too long to write out") from None
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        parts, total = [], 0
        for item in value:
            parts.append(render(item))
            total += len(parts[-1]) + 2
            if total > MAX_ITEMS + 2:
                raise too_long()
        return ", ".join(parts)
    if isinstance(value, Mapping):
        try:
            text = json.dumps(value, ensure_ascii=False, default=_json)
        except (TypeError, ValueError, RecursionError):
            raise EvaluationError("this object cannot be written as text") from None
        if len(text) > MAX_ITEMS:
            raise too_long()
        return text
    if getattr(value, "is_cell_error", False):  # a cell showing #N/A is no text to build on
        raise EvaluationError(f"{short_repr(value)} cannot be written as text")
    return str(value)


def _json(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else render(value)


def concat(values: list[Any]) -> str:
    """The values rendered and joined (`a ~ b`)."""
    parts = [value if type(value) is str else render(value) for value in values]
    if sum(map(len, parts)) > MAX_ITEMS:
        raise too_long()
    return "".join(parts)


def find_item(container: Any, key: Any) -> Any:
    """`container[key]` for object keys and list indexes; None for anything else."""
    if isinstance(container, Mapping):
        try:
            return container.get(key)
        except TypeError:  # an unhashable key
            return None
    if isinstance(container, list | tuple) and type(key) is int:
        try:
            return container[key]
        except IndexError:
            return None
    return None


def contains(haystack: Any, needle: Any) -> bool:
    """`needle in haystack`: a substring, list item or object key; false on null."""
    if isinstance(haystack, str):
        if isinstance(needle, str):
            return needle in haystack
        if needle is None:
            return False
        raise EvaluationError(f"'in' on text needs text on the left, not {kind_of(needle)}")
    if haystack is None:
        return False
    if isinstance(haystack, list | tuple | Mapping):
        try:
            return needle in haystack
        except TypeError:  # an unhashable key
            return False
    raise EvaluationError(f"'in' needs text, a list or an object on the right, not "
                          f"{kind_of(haystack)}")


def _in(needle: Any, haystack: Any) -> bool:
    return contains(haystack, needle)


def _not_in(needle: Any, haystack: Any) -> bool:
    return not contains(haystack, needle)


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    left_type, right_type = type(left), type(right)
    if left_type not in NUMBER_TYPES or right_type not in NUMBER_TYPES:
        if op == "+" and isinstance(left, list | tuple) and isinstance(right, list | tuple):
            if len(left) + len(right) > MAX_ITEMS:
                raise too_long()
            return [*left, *right]
        if op == "+" and isinstance(left, str) and isinstance(right, str):
            if len(left) + len(right) > MAX_ITEMS:
                raise too_long()
            return left + right
        hint = " (join text with ~)" if op == "+" and str in (left_type, right_type) else ""
        raise EvaluationError(f"cannot use '{op}' on {kind_of(left)} and {kind_of(right)}{hint}")
    if op in "/%" and right == 0:
        raise EvaluationError("division by zero")
    if Decimal in (left_type, right_type) or (op == "/" and float not in (left_type, right_type)):
        try:
            return _DECIMAL_OPERATIONS[op](exact_number(left), exact_number(right))
        except ArithmeticError as exc:
            raise EvaluationError(
                f"cannot compute '{op}' on these numbers ({type(exc).__name__})"
            ) from None
    result = _FLOAT_OPERATIONS[op](left, right)
    if type(result) is int and result.bit_length() > _MAX_INT_BITS:
        raise EvaluationError(f"the result of '{op}' is too large")
    return result


def exact_number(number: Any) -> Any:
    """A float as the Decimal it prints as; any other number unchanged."""
    return Decimal(repr(number)) if type(number) is float else number


_DECIMAL_OPERATIONS: dict[str, Callable[[Any, Any], Decimal]] = {
    "+": DECIMAL_CONTEXT.add, "-": DECIMAL_CONTEXT.subtract, "*": DECIMAL_CONTEXT.multiply,
    "/": DECIMAL_CONTEXT.divide, "%": DECIMAL_CONTEXT.remainder,
}
_FLOAT_OPERATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "%": operator.mod,
}


def _add(left: Any, right: Any) -> Any:
    kind = type(left)
    if kind is type(right) and (kind is int or kind is float):
        return left + right
    return _arithmetic("+", left, right)


def negate(value: Any) -> Any:
    """`-value` for numbers."""
    kind = type(value)
    if kind is int or kind is float:
        return -value
    if kind is Decimal:
        return value.copy_negate()
    raise EvaluationError(f"cannot negate {kind_of(value)}")


def incomparable(op: str, left: Any, right: Any) -> EvaluationError:
    """The error for an ordering (`<`…) between values that have none."""
    return EvaluationError(f"cannot compare {kind_of(left)} with {kind_of(right)} using '{op}'")


ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
OPERATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "in": _in, "not in": _not_in, "+": _add,
    **{op: functools.partial(_arithmetic, op) for op in "-*/%"},
}
