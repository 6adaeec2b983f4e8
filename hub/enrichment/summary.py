"""The few figures an agent reads first, computed from a customer's history."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["history_summary"]


def history_summary(history: dict[str, Any] | None) -> dict[str, Any] | None:
    """Orders, the total spent (refunded orders left out), the last order, interactions."""
    if history is None:
        return None
    orders = history.get("orders") or []
    spent = Decimal(0)
    for order in orders:
        if order.get("status") == "已退款":
            continue
        try:
            spent += Decimal(str(order.get("total") or 0))
        except InvalidOperation:
            continue
    return {
        "orders": len(orders),
        "total_spent": str(spent),
        "last_order_at": max((o.get("ordered_at") or "" for o in orders), default=None) or None,
        "interactions": len(history.get("interactions") or []),
    }
