"""A subset of CQL (Confluence Query Language) for the sandbox: parse once, match pages.

Supported: fields `type`, `space`, `title`, `id`, `label`, `text`, `lastmodified`, `created`;
operators `= != ~ !~ > >= < <=` and `in (...)` / `not in (...)`; `and`, `or`, `not`,
parentheses; `order by <field> [asc|desc], ...`. Keywords are case-insensitive. Date values
use the four documented formats (`yyyy/MM/dd HH:mm`, `yyyy-MM-dd HH:mm`, `yyyy/MM/dd`,
`yyyy-MM-dd`) in the searching user's time zone; a value stands for its whole minute (or
day), so `>=` starts at its first instant and `>` after its last.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

__all__ = ["CqlError", "CqlQuery", "parse_cql"]

Page = Mapping[str, Any]
Predicate = Callable[[Page], bool]

_TOKEN = re.compile(r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
                      |(?P<op>!=|!~|>=|<=|[=~<>(),])|(?P<word>[^\s"'=!~<>(),]+))""", re.VERBOSE)
_MINUTE, _DAY = timedelta(minutes=1), timedelta(days=1)
_DATE_FORMATS = (("%Y/%m/%d %H:%M", _MINUTE), ("%Y-%m-%d %H:%M", _MINUTE), ("%Y/%m/%d", _DAY),
                 ("%Y-%m-%d", _DAY))
_TEXT_FIELDS = {"type", "space", "title", "id", "label", "text"}
_DATE_FIELDS = {"lastmodified", "created"}
_SORTABLE = {"lastmodified", "created", "title", "id"}


class CqlError(ValueError):
    """The query is not valid CQL (or uses what the sandbox does not support)."""


@dataclass(frozen=True, slots=True)
class CqlQuery:
    """A parsed query: a predicate over pages and the sort order asked for."""

    matches: Predicate
    order_by: tuple[tuple[str, bool], ...]  # (field, descending)

    def sort(self, pages: list[Page]) -> list[Page]:
        ordered = sorted(pages, key=lambda page: int(page["id"]))
        for field, descending in reversed(self.order_by):
            ordered.sort(key=functools.partial(_sort_key, field=field), reverse=descending)
        return ordered


def _sort_key(page: Page, field: str) -> Any:
    return int(page["id"]) if field == "id" else page[field]


def parse_cql(text: str, *, tz: tzinfo) -> CqlQuery:
    """Parse `text`; dates are read in `tz`. Raises CqlError naming what is wrong."""
    parser = _Parser(_tokens(text), tz)
    matches = parser.or_expr()
    order = parser.order_by()
    if parser.peek() is not None:
        raise CqlError(f"unexpected {parser.peek()!r}")
    return CqlQuery(matches, order)


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        found = _TOKEN.match(text, pos)
        if found is None or found.end() == pos:
            raise CqlError(f"cannot read the query at position {pos}")
        tokens.append(found.group(found.lastgroup or "word"))
        pos = found.end()
    return tokens


def _unquote(token: str) -> str:
    if token[:1] in "\"'" and len(token) >= 2:
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


class _Parser:
    def __init__(self, tokens: list[str], tz: tzinfo) -> None:
        self.tokens, self.pos, self.tz = tokens, 0, tz

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise CqlError("the query ends too early")
        self.pos += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.lower() in words:
            self.pos += 1
            return True
        return False

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else lambda page: any(p(page) for p in parts)

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while self.keyword("and"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else lambda page: all(p(page) for p in parts)

    def not_expr(self) -> Predicate:
        if self.keyword("not"):
            inner = self.not_expr()
            return lambda page: not inner(page)
        if self.peek() == "(":
            self.take()
            inner = self.or_expr()
            if self.take() != ")":
                raise CqlError("a '(' is not closed")
            return inner
        return self.clause()

    def clause(self) -> Predicate:
        field = self.take().lower()
        if field not in _TEXT_FIELDS | _DATE_FIELDS:
            raise CqlError(f"unsupported field {field!r}")
        negated = self.keyword("not")
        if self.keyword("in"):
            values = self.value_list()
            return _membership(field, values, negated=negated)
        if negated:
            raise CqlError("expected 'in' after 'not'")
        op = self.take()
        value = _unquote(self.take())
        if field in _DATE_FIELDS:
            return self.date_clause(field, op, value)
        return _text_clause(field, op, value)

    def value_list(self) -> list[str]:
        if self.take() != "(":
            raise CqlError("expected '(' after 'in'")
        values = [_unquote(self.take())]
        while (token := self.take()) == ",":
            values.append(_unquote(self.take()))
        if token != ")":
            raise CqlError("expected ')' to close the list")
        return values

    def date_clause(self, field: str, op: str, value: str) -> Predicate:
        for fmt, span in _DATE_FORMATS:
            try:
                start = datetime.strptime(value, fmt).replace(tzinfo=self.tz)
            except ValueError:
                continue
            test = _date_test(op, start, start + span)
            if test is None:
                raise CqlError(f"operator {op!r} is not supported for {field}")
            return lambda page: test(page[field])
        raise CqlError(f"{value!r} is not a date in a supported format")

    def order_by(self) -> tuple[tuple[str, bool], ...]:
        if not self.keyword("order"):
            return ()
        if not self.keyword("by"):
            raise CqlError("expected 'by' after 'order'")
        order = []
        while True:
            field = self.take().lower()
            if field not in _SORTABLE:
                raise CqlError(f"cannot order by {field!r}")
            descending = self.keyword("desc")
            if not descending:
                self.keyword("asc")
            order.append((field, descending))
            if self.peek() != ",":
                return tuple(order)
            self.take()


def _date_test(op: str, start: datetime, end: datetime) -> Callable[[datetime], bool] | None:
    """`value` stands for [start, end): `>=` from its first instant, `>` after its last."""
    tests: dict[str, Callable[[datetime], bool]] = {
        "=": lambda at: start <= at < end, "!=": lambda at: not start <= at < end,
        ">=": lambda at: at >= start, ">": lambda at: at >= end,
        "<": lambda at: at < start, "<=": lambda at: at < end,
    }
    return tests.get(op)


def _values(page: Page, field: str) -> list[str]:
    if field == "label":
        return list(page["labels"])
    if field == "text":
        return [page["title"], page["text"]]
    return [str(page[field])]


def _text_clause(field: str, op: str, value: str) -> Predicate:
    wanted = value.lower()
    if op in ("=", "!="):
        negate = op == "!="
        if field == "text":
            raise CqlError("text supports only ~ and !~")
        return lambda page: (wanted in (v.lower() for v in _values(page, field))) != negate
    if op in ("~", "!~"):
        if field not in ("title", "text"):
            raise CqlError(f"operator {op!r} is not supported for {field}")
        negate = op == "!~"
        words = wanted.replace("*", "").split()
        return lambda page: all(
            any(w in v.lower() for v in _values(page, field)) for w in words) != negate
    raise CqlError(f"operator {op!r} is not supported for {field}")


def _membership(field: str, values: list[str], *, negated: bool) -> Predicate:
    wanted = {v.lower() for v in values}
    return lambda page: bool(wanted & {v.lower() for v in _values(page, field)}) != negated
