"""A field's coercion remembered per distinct text: a column's repeated values (dates, a
status, yes/no) are parsed once per import or sync instead of once per row.

    coerce = memoized(coerce_date)      # one per field: its options (time zone…) are fixed
    coerce("2023年3月5日", options)       # parsed
    coerce("2023年3月5日", options)       # remembered: the same date object

Only text is remembered, only coercers whose result depends on nothing but the text and the
field's options and cannot be changed in place (dates, date-times, enums, booleans): what is
returned is what the coercer returned for the same text. A value the coercer refuses is not
remembered: it raises the coercer's own error every time. At most `SIZE` texts per field
(then forgotten at once): memory stays flat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["MEMOIZED", "SIZE", "memoized"]

MEMOIZED = frozenset({"date", "datetime", "enum", "bool"})
SIZE = 4096

Coercer = Callable[[Any, Any], Any]


def memoized(coerce: Coercer) -> Coercer:
    """`coerce`, remembering its answer for each text (see the module's docstring)."""
    cache: dict[str, Any] = {}

    def remembered(value: Any, options: Any) -> Any:
        if type(value) is not str:
            return coerce(value, options)
        try:
            return cache[value]
        except KeyError:
            pass
        result = coerce(value, options)
        if len(cache) >= SIZE:
            cache.clear()
        cache[value] = result
        return result
    return remembered
