"""The few figures an agent reads first, computed from a customer's history."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["history_summary"]


def history_summary(history: dict[str, Any] | None) -> dict[str, Any] | None:
    """Orders, the total spent (refunded orders left out), the last order, interactions;
    with history from several systems, also how many orders came from each.

    The total and the last order read the CRM's `total` and `ordered_at`: orders of a system
    that has neither (an ERP's sales orders) are counted but add nothing to them.
    """
    if history is None:
        return None
    orders = history.get("orders") or []
    by_source: dict[str, int] = {}
    for order in orders:
        if isinstance(order, dict) and "source" in order:
            by_source[str(order["source"])] = by_source.get(str(order["source"]), 0) + 1
    spent = Decimal(0)
    for order in orders:
        if order.get("status") == "已退款":
            continue
        try:
            spent += Decimal(str(order.get("total") or 0))
        except InvalidOperation:
            continue
    summary: dict[str, Any] = {
        "orders": len(orders),
        "total_spent": str(spent),
        "last_order_at": max((o.get("ordered_at") or "" for o in orders), default=None) or None,
        "interactions": len(history.get("interactions") or []),
    }
    if by_source:
        summary["orders_by_source"] = by_source
    return summary
