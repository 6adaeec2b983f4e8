"""Deterministic seed data of the sandbox: customers, products, orders, deliveries, stock."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = ["ORGS", "WAREHOUSES", "Seed", "generate"]

ORGS = ("1001", "1002")
WAREHOUSES = ("WH01", "WH02")  # the tenant's own codes, unlike Kingdee's CK001
_START = datetime(2026, 1, 5, 9, 0, 0)
_NAMES = ("华东电子", "北方机械", "南山科技", "西湖贸易", "东海精密", "长江仪器", "黄河设备",
          "珠江自动化")


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class Seed:
    """The generated records, by collection."""

    def __init__(self) -> None:
        self.customers: list[dict[str, Any]] = []
        self.products: list[dict[str, Any]] = []
        self.orders: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.stock: list[dict[str, Any]] = []


def generate(*, customers: int = 12, products: int = 8, orders: int = 30,
             seed: int = 7) -> Seed:
    """A small tenant: every customer `C001`..., product `P-1001`..., orders and deliveries
    spread over them, stock per product and warehouse; `pubts` increases with the index."""
    rng = random.Random(seed)
    out = Seed()
    for i in range(1, customers + 1):
        out.customers.append({
            "id": str(2_000_000 + i), "code": f"C{i:03d}",
            "name": {"simplifiedName": f"{_NAMES[i % len(_NAMES)]}{i}号"},
            "mobile": f"138{i:08d}", "email": f"buyer{i}@example.cn", "createOrgCode": ORGS[0],
            "pubts": _ts(_START + timedelta(hours=i)),
        })
    for i in range(1, products + 1):
        out.products.append({
            "id": str(3_000_000 + i), "code": f"P-{1000 + i}",
            "name": {"simplifiedName": f"配件{i}"}, "unit": "Pcs",
            "pubts": _ts(_START + timedelta(minutes=i)),
        })
    for i in range(1, orders + 1):
        customer = out.customers[(i - 1) % len(out.customers)]
        product = out.products[rng.randrange(len(out.products))]
        qty = rng.randint(1, 5)
        price = Decimal(rng.randint(50, 900)) + Decimal("0.50")
        when = _START + timedelta(days=i, hours=rng.randint(0, 8))
        common = {
            "vouchdate": _ts(when), "agentId": customer["id"], "agentId_code": customer["code"],
            "agentId_name": customer["name"]["simplifiedName"], "skuCode": product["code"],
            "qty": qty, "oriSum": format(price * qty, "f"), "pubts": _ts(when),
        }
        out.orders.append({"id": str(4_000_000 + i), "code": f"SO{i:05d}", **common,
                           "statusCode": ("CONFIRMORDER", "DELIVERGOODS", "ENDORDER")[i % 3]})
        if i % 3:
            out.deliveries.append({
                "id": str(5_000_000 + i), "code": f"DL{i:05d}", **common,
                "vouchdate": _ts(when + timedelta(days=1)), "srcBillNO": f"SO{i:05d}"})
    for product in out.products:
        for warehouse in WAREHOUSES:
            qty = rng.randint(0, 200)
            out.stock.append({"product_code": product["code"], "warehouse_code": warehouse,
                              "currentqty": qty, "availableqty": max(0, qty - 3)})
    return out
