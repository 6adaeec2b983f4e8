"""The sandbox's list semantics: `simpleVOs` conditions, `queryOrders`, the two page shapes.

Conditions are ANDed (how `logicOp` chains them is UNVERIFIED; the client sends one or two).
Supported ops: eq, neq, like, gt, lt, egt, elt, between, in, nin. A reference field is
filtered by its id only (销售订单列表查询: "参照类型只能传id … 不能传物料code"): a condition on
``agentId.code`` / ``agentId_name`` is refused. Other dotted names (a detail table's field,
``orderDetails.id``) read the row's flattened or nested value. A page without `pageSize`
holds 10 rows, the documented default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["DEFAULT_PAGE_SIZE", "QueryError", "filter_rows", "page", "sort_rows"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OPS = frozenset({"eq", "neq", "like", "gt", "lt", "egt", "elt", "between", "in", "nin"})
_REFERENCE = re.compile(r"^[A-Za-z]+Id[._](code|name)$")
DEFAULT_PAGE_SIZE = 10


class QueryError(ValueError):
    """A malformed condition: the gateway answers 999 naming it."""


def _value(row: Mapping[str, Any], field: str) -> Any:
    if field in row:
        return row[field]
    flat = field.replace(".", "_")
    if flat in row:
        return row[flat]
    value: Any = row
    for part in field.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, Mapping) and "simplifiedName" in value:
        return value["simplifiedName"]
    return value


def _comparable(value: Any) -> Any:
    try:
        return Decimal(str(value)) if not isinstance(value, bool) else value
    except (InvalidOperation, ValueError):
        text = str(value)
        # A date compares as its midnight: "2026-11-23" == "2026-11-23 00:00:00".
        return text + " 00:00:00" if _DATE.match(text) else text


def _cmp(a: Any, b: Any) -> int:
    left, right = _comparable(a), _comparable(b)
    if type(left) is not type(right):
        left, right = str(a), str(b)
    return int(left > right) - int(left < right)


def _listed(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",")]


def _matches(row: Mapping[str, Any], condition: Mapping[str, Any]) -> bool:
    field, op = condition.get("field"), condition.get("op")
    if not field or op not in _OPS:
        raise QueryError(f"simpleVOs: unsupported condition field={field!r} op={op!r}")
    if _REFERENCE.match(str(field)):
        raise QueryError(f"查询条件字段[{field}]：参照类型只能传id")
    value = _value(row, str(field))
    if value is None:
        return op in ("neq", "nin")
    one, two = condition.get("value1"), condition.get("value2")
    if op == "eq":
        return str(value) == str(one)
    if op == "neq":
        return str(value) != str(one)
    if op == "like":
        return str(one).strip("%") in str(value)
    if op == "in":
        return str(value) in _listed(one)
    if op == "nin":
        return str(value) not in _listed(one)
    if op == "between":
        return _cmp(value, one) >= 0 and _cmp(value, two) <= 0
    order = _cmp(value, one)
    return {"gt": order > 0, "lt": order < 0, "egt": order >= 0, "elt": order <= 0}[op]


def filter_rows(rows: Iterable[dict[str, Any]], conditions: Any) -> list[dict[str, Any]]:
    if conditions in (None, []):
        return list(rows)
    if not isinstance(conditions, list):
        raise QueryError("simpleVOs must be an array")
    return [r for r in rows if all(_matches(r, c) for c in conditions)]


def sort_rows(rows: list[dict[str, Any]], orders: Any) -> list[dict[str, Any]]:
    for order in reversed(orders or []):
        field = str(order.get("field"))
        descending = str(order.get("order", "asc")).lower() == "desc"

        def key(row: dict[str, Any], f: str = field) -> str:
            return str(_value(row, f) or "")

        rows = sorted(rows, key=key, reverse=descending)
    return rows


def page(rows: list[dict[str, Any]], body: Mapping[str, Any], *, bare: bool,
         max_size: int = 500) -> Any:
    """One page: a bare array, or ``{pageIndex, pageSize, recordCount, recordList, ...}``."""
    try:
        index = max(1, int(body.get("pageIndex") or 1))
        size = max(1, min(max_size, int(body.get("pageSize") or DEFAULT_PAGE_SIZE)))
    except (TypeError, ValueError) as exc:
        raise QueryError("pageIndex/pageSize must be numbers") from exc
    chunk = rows[(index - 1) * size: index * size]
    if bare:
        return chunk
    count = len(rows)
    pages = (count + size - 1) // size
    return {"pageIndex": index, "pageSize": size, "recordCount": count, "recordList": chunk,
            "pageCount": pages, "beginPageIndex": 1, "endPageIndex": max(pages, 1)}
