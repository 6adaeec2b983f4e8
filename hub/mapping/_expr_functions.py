"""Functions of the expression language: the built-in ones, arity checks and safe calling."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from hub.mapping._expr_values import (
    DECIMAL_CONTEXT,
    MAX_ITEMS,
    NUMBER_TYPES,
    EvaluationError,
    Fn,
    Scope,
    contains,
    exact_number,
    kind_of,
    render,
    too_long,
)
from hub.mapping.errors import short_repr
from hub.mapping.types import (
    DEFAULT_TIMEZONE,
    as_mobile,
    coerce_decimal,
    coerce_int,
    is_missing,
)

__all__ = ["BUILTIN_FUNCTIONS", "describe_arity", "find_arity", "wrap_call"]


class _Options(NamedTuple):
    timezone: str = DEFAULT_TIMEZONE
    values: tuple[str, ...] | None = None


_OPTIONS = _Options()


def _number(value: Any) -> Any:
    if type(value) not in NUMBER_TYPES:
        raise ValueError(f"expected a number, got {short_repr(value)}")
    return value


def _whole(value: Any, what: str) -> int:
    if type(value) is not int:
        raise ValueError(f"{what} must be a whole number, got {short_repr(value)}")
    return int(value)


def _len(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str | list | tuple | Mapping):
        return len(value)
    raise ValueError(f"expected text, a list or an object, got {kind_of(value)}")


def _lower(value: Any) -> str | None:
    return None if value is None else render(value).lower()


def _upper(value: Any) -> str | None:
    return None if value is None else render(value).upper()


def _strip(value: Any) -> str | None:
    return None if value is None else render(value).strip()


def _str(value: Any) -> str | None:
    return None if value is None else render(value)


def _int(value: Any) -> int | None:
    return coerce_int(value, _OPTIONS)


def _decimal(value: Any) -> Decimal | None:
    return coerce_decimal(value, _OPTIONS)


def _round(value: Any, digits: Any = 0) -> Any:
    """Rounds half up (四舍五入), keeping the type: int, float or Decimal."""
    if value is None:
        return None
    number, digits = _number(value), _whole(digits, "the number of digits")
    if not -28 <= digits <= 28:
        raise ValueError("the number of digits must be between -28 and 28")
    try:
        exact = Decimal(number) if type(number) is int else exact_number(number)
        rounded = exact.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP, DECIMAL_CONTEXT)
    except ArithmeticError:
        raise ValueError(f"{short_repr(value)} has too many digits to round") from None
    return rounded if type(number) is Decimal else type(number)(rounded)


def _abs(value: Any) -> Any:
    if value is None:
        return None
    number = _number(value)
    return number.copy_abs() if type(number) is Decimal else abs(number)


def _extreme(pick: Callable[..., Any], values: tuple[Any, ...]) -> Any:
    if len(values) == 1 and isinstance(values[0], list | tuple):
        values = tuple(values[0])
    present = [value for value in values if value is not None]
    if not present:
        return None
    try:
        return pick(present)
    except (TypeError, ArithmeticError):
        kinds = sorted({kind_of(value) for value in present})
        what = " with ".join(kinds) if len(kinds) > 1 else f"these {kinds[0]} values"
        raise ValueError(f"cannot compare {what}") from None


def _min(value: Any, *more: Any) -> Any:
    """The least of the values (or of the one list given), nulls left out."""
    return _extreme(min, (value, *more))


def _max(value: Any, *more: Any) -> Any:
    return _extreme(max, (value, *more))


def _coalesce(value: Any, *more: Any) -> Any:
    """The first value that is not missing (None or blank text)."""
    return next((item for item in (value, *more) if not is_missing(item)), None)


def _default(value: Any, fallback: Any) -> Any:
    return fallback if is_missing(value) else value


def _startswith(text: Any, prefix: Any) -> bool:
    return text is not None and prefix is not None and render(text).startswith(render(prefix))


def _endswith(text: Any, suffix: Any) -> bool:
    return text is not None and suffix is not None and render(text).endswith(render(suffix))


def _replace(value: Any, old: Any, new: Any) -> str | None:
    if value is None:
        return None
    text, before, after = render(value), render(old), render(new)
    count = text.count(before) if before else len(text) + 1
    if len(text) + count * (len(after) - len(before)) > MAX_ITEMS:
        raise too_long()
    return text.replace(before, after)


def _join(items: Any, separator: Any = ",") -> str | None:
    """The items as text between separators; null items are left out."""
    if items is None:
        return None
    if not isinstance(items, list | tuple):
        return render(items)
    between = render(separator)
    parts = [render(item) for item in items if item is not None]
    if sum(map(len, parts)) + len(between) * (len(parts) - 1) > MAX_ITEMS:
        raise too_long()
    return between.join(parts)


def _split(value: Any, separator: Any) -> list[str] | None:
    if value is None:
        return None
    text, between = render(value), render(separator)
    if not between:
        raise ValueError("the separator is empty")
    if text.count(between) >= MAX_ITEMS:
        raise too_long()
    return text.split(between)


def _substr(text: Any, start: Any, end: Any = None) -> str | None:
    if text is None:
        return None
    first = None if start is None else _whole(start, "start")
    last = None if end is None else _whole(end, "end")
    return render(text)[first:last]


BUILTIN_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType({
    "len": _len, "lower": _lower, "upper": _upper, "strip": _strip, "str": _str, "int": _int,
    "decimal": _decimal, "round": _round, "abs": _abs, "min": _min, "max": _max,
    "coalesce": _coalesce, "default": _default, "contains": contains,
    "startswith": _startswith, "endswith": _endswith, "replace": _replace, "join": _join,
    "split": _split, "substr": _substr, "as_mobile": as_mobile,
})


def wrap_call(name: str, function: Callable[..., Any], args: tuple[Fn, ...]) -> Fn:
    """A closure calling `function`; whatever it raises becomes an EvaluationError naming it."""
    if len(args) == 1:
        (arg,) = args

        def call_one(scope: Scope) -> Any:
            value = arg(scope)
            try:
                return function(value)
            except Exception as exc:
                raise _failed(name, exc) from None

        return call_one

    def call(scope: Scope) -> Any:
        values = [arg(scope) for arg in args]
        try:
            return function(*values)
        except Exception as exc:
            raise _failed(name, exc) from None

    return call


def _failed(name: str, exc: Exception) -> EvaluationError:
    # ValueError and TypeError messages in this layer quote values through short_repr only
    detail = str(exc) if isinstance(exc, ValueError | TypeError) else type(exc).__name__
    if len(detail) > 200:
        detail = detail[:199] + "…"
    return EvaluationError(f"{name}(): {detail}")


def find_arity(function: Callable[..., Any]) -> tuple[int, int | None] | None:
    """(least, most) positional arguments `function` takes; None when it cannot be told."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    least, most, unbounded = 0, 0, False
    for parameter in parameters:
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            most += 1
            least += parameter.default is parameter.empty
        elif parameter.kind is parameter.VAR_POSITIONAL:
            unbounded = True
        elif parameter.kind is parameter.KEYWORD_ONLY and parameter.default is parameter.empty:
            return None
    return least, None if unbounded else most


def describe_arity(least: int, most: int | None) -> str:
    """`least` to `most` arguments in words, for error messages."""
    if most is None:
        return f"at least {least} argument" + ("" if least == 1 else "s")
    if least == most:
        return f"{least} argument" + ("" if least == 1 else "s")
    return f"{least} to {most} arguments"
