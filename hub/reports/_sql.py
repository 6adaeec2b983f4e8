"""SQL the report queries share, written once per dialect (SQLite and PostgreSQL).

Offsets are rendered as literal integers, not bound parameters: the same expression in
SELECT and GROUP BY must be the same text for PostgreSQL to group by it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Float,
    Integer,
    String,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

__all__ = ["Percentiles", "as_day", "at", "connection_of", "day_of", "nearest_rank",
           "percentiles_by", "seconds_between"]


class day_of(FunctionElement[int]):  # noqa: N801 - a SQL function, named as one
    """The calendar day of a UTC timestamp at a fixed offset from UTC (minutes), as the
    number of days since 1970-01-01 (`as_day` makes it a date): an integer groups and packs
    faster than a date's text."""

    type = Integer()
    inherit_cache = False
    name = "day_of"

    def __init__(self, column: Any, offset_minutes: int) -> None:
        super().__init__(column)
        self.offset_minutes = int(offset_minutes)


@compiles(day_of, "sqlite")
def _day_sqlite(element: day_of, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return (f"CAST(julianday({compiler.process(column, **kw)}, "
            f"'{element.offset_minutes:+d} minutes') - 2440587.5 AS INTEGER)")


@compiles(day_of, "postgresql")
def _day_postgresql(element: day_of, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    # date_part: a double; EXTRACT answers numeric since PostgreSQL 14, slower to sum.
    return (f"CAST(FLOOR((date_part('epoch', {compiler.process(column, **kw)}) + "
            f"{element.offset_minutes * 60}) / 86400) AS INTEGER)")


class seconds_between(FunctionElement[float]):  # noqa: N801
    """`later - earlier` in seconds (a float)."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"date_part('epoch', ({later}) - ({earlier}))"


class connection_of(FunctionElement[str]):  # noqa: N801
    """The connection of an `http.call` audit target (`<connection>:<operation>`)."""

    type = String()
    inherit_cache = True
    name = "connection_of"


@compiles(connection_of, "sqlite")
def _connection_sqlite(element: connection_of, compiler: SQLCompiler, **kw: Any) -> str:
    (target,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"substr({target}, 1, instr({target}, ':') - 1)"


@compiles(connection_of, "postgresql")
def _connection_postgresql(element: connection_of, compiler: SQLCompiler, **kw: Any) -> str:
    (target,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"split_part({target}, ':', 1)"


def at(moment: datetime) -> ColumnElement[datetime]:
    """A moment as a bound timestamp (SQLite gets the text the store writes)."""
    return literal(moment, DateTime(timezone=True))


_EPOCH = date(1970, 1, 1)


def as_day(number: int) -> date:
    """The date of a `day_of` number."""
    return _EPOCH + timedelta(days=int(number))


def nearest_rank(percent: int, count: int) -> int:
    """The 1-based nearest rank of `percent` among `count` ordered values: ceil(p·n/100)."""
    return max(1, (count * percent + 99) // 100)


Percentiles = dict[Any, tuple[int, dict[int, float]]]
_PACK = 10**10  # a packed row: day * _PACK + tenths of its value (values under 31 years)


def percentiles_by(connection: Connection, key: ColumnElement[Any],
                   value: ColumnElement[Any], where: Sequence[ColumnElement[bool]],
                   percents: Sequence[int], *, day_key: bool = False) -> Percentiles:
    """Per value of `key`: how many rows, and the nearest-rank `percents` of `value` (the
    first value whose share of the ordered values reaches the percent: ceil(p·n/100)).

    PostgreSQL computes them (`percentile_disc`, which is that definition). SQLite has no
    percentile function, and its window functions (row_number over each group) took five
    times longer than handing the values to Python to sort; a `day_key` (a `day_of`) and a
    non-negative value (rounded to a tenth) come packed in one integer a row, which halves
    that.
    """
    where = [*where, value.is_not(None)]
    if connection.dialect.name == "postgresql":
        ranks = [func.percentile_disc(p / 100).within_group(value) for p in percents]
        rows = connection.execute(select(key, func.count(), *ranks).where(*where)
                                  .group_by(key)).all()
        return {row[0]: (row[1], {p: float(v) for p, v in zip(percents, row[2:], strict=True)})
                for row in rows}
    groups: dict[Any, list[float]] = defaultdict(list)
    if day_key:
        tenths = cast(func.round(func.max(value, 0) * 10), Integer)
        for (packed,) in connection.execute(select(key * _PACK + tenths).where(*where)).all():
            day, number = divmod(packed, _PACK)
            groups[day].append(number / 10)
    else:
        for group, number in connection.execute(select(key, value).where(*where)).all():
            groups[group].append(number)
    found: Percentiles = {}
    for group, numbers in groups.items():
        numbers.sort()
        found[group] = (len(numbers), {p: float(numbers[nearest_rank(p, len(numbers)) - 1])
                                       for p in percents})
    return found
