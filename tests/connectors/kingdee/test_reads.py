"""Streams, paging, incremental state, customer history and reference lookups."""

from __future__ import annotations

import json
from typing import Any

from connectors.kingdee.connector import KingdeeConnector

from .conftest import Kingdee


async def _read(erp: KingdeeConnector, stream: str, state: str | None = None
                ) -> tuple[list[dict[str, Any]], str | None, int]:
    records: list[dict[str, Any]] = []
    batches = 0
    async for batch in erp.read(stream, state=state):
        records.extend(batch.records)
        state = batch.state
        batches += 1
    return records, state, batches


async def test_customers__pages_through_every_record_once(kingdee: Kingdee) -> None:
    async with kingdee.connector(page_size=7) as erp:
        records, state, batches = await _read(erp, "customers")
    assert [r["FNumber"] for r in records] == [f"C{i:03d}" for i in range(1, 51)]
    assert records[0]["FName"] and records[0]["FModifyDate"]
    assert batches == 8 and state == records[-1]["FModifyDate"]
    queries = [json.loads(json.dumps(c)) for c in kingdee.vendor_calls("executebillquery")]
    assert len(queries) == 8


async def test_customers__resume_from_state_returns_the_change(kingdee: Kingdee) -> None:
    async with kingdee.connector(page_size=20) as erp:
        _, state, _ = await _read(erp, "customers")
        kingdee.state.touch("BD_Customer", "C010")
        again, new_state, _ = await _read(erp, "customers", state)
    numbers = [r["FNumber"] for r in again]
    assert "C010" in numbers and numbers[-1] == "C010"
    assert numbers == ["C050", "C010"]  # inclusive boundary: the last record read again
    assert new_state is not None and new_state > str(state)


async def test_sales_orders__lines_grouped_across_page_boundaries(kingdee: Kingdee) -> None:
    expected = {o["FBILLNO"]: len(o["FSALEORDERENTRY"])
                for o in kingdee.state.store.records["SAL_SALEORDER"]}
    async with kingdee.connector(page_size=9) as erp:
        records, _, _ = await _read(erp, "sales_orders")
    assert {r["FBillNo"]: len(r["lines"]) for r in records} == expected
    assert len(records) == len(expected)
    line = records[0]["lines"][0]
    assert line["FMaterialId.FNumber"].startswith("P-") and line["FQty"] > 0


async def test_deliveries_and_stock__read_in_full(kingdee: Kingdee) -> None:
    async with kingdee.connector(page_size=500) as erp:
        deliveries, _, _ = await _read(erp, "deliveries")
        stock, state, _ = await _read(erp, "stock")
    assert len(deliveries) == len(kingdee.state.store.records["SAL_OUTSTOCK"])
    assert deliveries[0]["FCustomerID.FNumber"].startswith("C")
    assert len(stock) == 200 and state is None
    assert {s["FStockId.FNumber"] for s in stock} == {"CK001", "CK002"}


async def test_materials__incremental_filter_is_inclusive(kingdee: Kingdee) -> None:
    async with kingdee.connector(page_size=30) as erp:
        records, _, _ = await _read(erp, "materials", "2026-01-17T09:00:00")
    assert records[0]["FModifyDate"] == "2026-01-17T09:00:00"
    assert all(r["FModifyDate"] >= "2026-01-17T09:00:00" for r in records)


async def test_customer_history__orders_and_deliveries_newest_first(kingdee: Kingdee) -> None:
    async with kingdee.connector() as erp:
        history = await erp.customer_history("C003")
    orders = history["orders"]
    assert orders and all(o["FCustId.FNumber"] == "C003" for o in orders)
    assert [o["FDate"] for o in orders] == sorted((o["FDate"] for o in orders), reverse=True)
    assert all(d["FCustomerID.FNumber"] == "C003" for d in history["deliveries"])


async def test_find_customer__by_phone_or_none(kingdee: Kingdee) -> None:
    async with kingdee.connector() as erp:
        found = await erp.find_customer(mobile="13800000012")
        missing = await erp.find_customer(mobile="19999999999")
        by_mail = await erp.find_customer(email="a@b.c")
    assert found is not None and found["FNumber"] == "C012"
    assert missing is None and by_mail is None


async def test_reference__batched_in_query(kingdee: Kingdee) -> None:
    async with kingdee.connector() as erp:
        materials = await erp.reference("material", ["P-1001", "P-1002", "P-9999"])
        customers = await erp.reference("customer", ["C001"])
    assert set(materials) == {"P-1001", "P-1002"}
    assert customers["C001"]["FName"]
    assert len(kingdee.vendor_calls("executebillquery")) == 2
