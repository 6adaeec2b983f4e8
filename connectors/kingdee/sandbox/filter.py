"""The sandbox's FilterString / OrderString: the SQL-like subset of §5, parsed, not eval'd.

Supported: `= <> != > < >= <=`, `LIKE`, `[NOT] IN (...)`, `IS [NOT] NULL`, `AND / OR / NOT`,
parentheses; strings in single quotes ('' escapes a quote), numbers unquoted. As on a real
server, a quoted value compared with a numeric field is an error, not a silent match.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["FilterError", "Getter", "compile_filter", "parse_order", "sort_rows"]

Getter = Callable[[str], Any]
Predicate = Callable[[Getter], bool]

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op><>|!=|>=|<=|=|>|<)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
)""", re.VERBOSE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?")
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN", "IS", "NULL"}


class FilterError(ValueError):
    """The FilterString cannot be parsed or does not fit the fields."""


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FilterError(f"语法错误: 无法识别的内容 {text[pos:pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            out.append(("str", value[1:-1].replace("''", "'")))
        elif kind == "num":
            out.append(("num", float(value) if "." in value else int(value)))
        elif kind == "word" and value.upper() in _KEYWORDS:
            out.append(("kw", value.upper()))
        else:
            out.append((kind, value))
    return out


def _normal(value: Any) -> Any:
    """Dates compare as dates whatever their precision ('2026-01-05' = that day's 00:00)."""
    if isinstance(value, str) and _DATE.match(value):
        text = value.replace(" ", "T")
        return text if "T" in text else text + "T00:00:00"
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None:
        return False
    is_number = isinstance(left, int | float) and not isinstance(left, bool)
    if is_number and isinstance(right, str):
        raise FilterError(f"在将 varchar 值 '{right}' 转换成数据类型 int 时失败")
    if not is_number and isinstance(right, int | float):
        left = _to_number(left)
    else:
        left, right = _normal(left), _normal(right)
    if op == "=":
        return bool(left == right)
    if op in ("<>", "!="):
        return bool(left != right)
    if op == ">":
        return bool(left > right)
    if op == "<":
        return bool(left < right)
    if op == ">=":
        return bool(left >= right)
    return bool(left <= right)


def _to_number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise FilterError(f"在将 varchar 值 '{value}' 转换成数据类型 int 时失败") from None


def _like(value: Any, pattern: str) -> bool:
    if value is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, str(value), re.IGNORECASE | re.DOTALL) is not None


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda get: a(get) or b(get)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda get: a(get) and b(get)


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]], fields: Callable[[str], None]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.check_field = fields

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str, value: Any = None) -> Any:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            got = token[1] if token else "结尾"
            raise FilterError(f"语法错误: 期望 {value or kind}，得到 {got}")
        self.pos += 1
        return token[1]

    def accept(self, kind: str, value: Any = None) -> bool:
        token = self.peek()
        if token is not None and token[0] == kind and (value is None or token[1] == value):
            self.pos += 1
            return True
        return False

    def expr(self) -> Predicate:
        left = self.conj()
        while self.accept("kw", "OR"):
            left = _either(left, self.conj())
        return left

    def conj(self) -> Predicate:
        left = self.neg()
        while self.accept("kw", "AND"):
            left = _both(left, self.neg())
        return left

    def neg(self) -> Predicate:
        if self.accept("kw", "NOT"):
            inner = self.neg()
            return lambda get: not inner(get)
        if self.accept("punct", "("):
            inner = self.expr()
            self.take("punct", ")")
            return inner
        return self.comparison()

    def value(self) -> Any:
        token = self.peek()
        if token is None or token[0] not in ("str", "num"):
            raise FilterError(f"语法错误: 期望一个值，得到 {token[1] if token else '结尾'}")
        self.pos += 1
        return token[1]

    def comparison(self) -> Predicate:
        field = self.take("word")
        self.check_field(field)
        if self.accept("kw", "IS"):
            negate = self.accept("kw", "NOT")
            self.take("kw", "NULL")
            return lambda get: (get(field) in (None, "")) != negate
        negate = self.accept("kw", "NOT")
        if self.accept("kw", "LIKE"):
            pattern = self.value()
            return lambda get: _like(get(field), str(pattern)) != negate
        if self.accept("kw", "IN"):
            self.take("punct", "(")
            values = [self.value()]
            while self.accept("punct", ","):
                values.append(self.value())
            self.take("punct", ")")
            return lambda get: any(_compare(get(field), "=", v) for v in values) != negate
        if negate:
            raise FilterError("语法错误: NOT 之后应为 LIKE 或 IN")
        op = self.take("op")
        right = self.value()
        return lambda get: _compare(get(field), op, right)


def compile_filter(text: str | None, check_field: Callable[[str], None]) -> Predicate:
    """A predicate over a row getter; `check_field` raises for an unknown field key."""
    if not text or not str(text).strip():
        return lambda _get: True
    parser = _Parser(_tokens(str(text)), check_field)
    predicate = parser.expr()
    if parser.peek() is not None:
        raise FilterError(f"语法错误: 多余的内容 {parser.peek()[1]!r}")  # type: ignore[index]
    return predicate


def parse_order(text: str | None) -> list[tuple[str, bool]]:
    """`FDate DESC, FBillNo` → [("FDate", True), ("FBillNo", False)]."""
    order = []
    for part in (text or "").split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
            raise FilterError(f"排序字符串错误: {part.strip()!r}")
        order.append((words[0], len(words) == 2 and words[1].upper() == "DESC"))
    return order


def sort_rows(
    rows: list[Any], order: list[tuple[str, bool]], get: Callable[[Any, str], Any]
) -> None:
    """Sort in place, nulls first ascending (SQL Server's rule), stable."""
    for key, desc in reversed(order):
        def sort_key(row: Any, k: str = key) -> tuple[bool, Any]:
            value = get(row, k)
            return (value is not None, _normal(value) if value is not None else 0)
        rows.sort(key=sort_key, reverse=desc)
