"""The documents YonBIP accepts: a money-only refund is a 收款退款单, sales-return lines carry
product and warehouse, org and warehouse codes are the connection's, the sandbox refuses what
the API pages mark required."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from connectors.sdk import RejectedError
from hub.mapping import compile_mapping, parse_spec

from .conftest import DOCUMENT, Server

ROOT = Path(__file__).resolve().parents[3]
MONEY_ONLY = {**DOCUMENT, "refund": {
    "amount": "20.00", "currency": "CNY", "method": "wire", "reason": None,
    "lines": [{"amount": "20.00", "method": "wire", "material": None, "qty": None}]}}


def mapped(name: str, document: dict[str, Any]) -> dict[str, Any]:
    spec = YAML(typ="safe").load((ROOT / "mappings" / f"{name}.yaml").read_text("utf-8"))
    body = compile_mapping(parse_spec(spec), name=name)(document)
    assert body is not None
    return dict(body)


async def test_money_only_refund__a_collection_refund_saved_and_audited(
    sandbox: Server,
) -> None:
    steps: list[str] = []
    async with sandbox.connector() as connector:
        result = await connector.write(
            "refund.create", "TK000123-RF1", mapped("yonyou_refund_bill", MONEY_ONLY),
            check_first=False, on_step=lambda r: steps.append(r.step))
        found = await connector.find_written("refund.create", "TK000123-RF1")
    assert steps == ["saved", "done"]
    assert (result.reference, result.amount, result.counterparty) == ("TK-000123", "20.00", "C001")
    assert found is not None and found.step == "done" and found.id == result.id
    [bill] = sandbox.bills("arrefund")
    assert bill["status"] == "1" and bill["verifyState"] == "2"
    assert bill["financeOrgCode"] == bill["orgCode"] == "1001"  # the connection's org
    assert bill["billDate"] == bill["exchangeRateDate"] == "2026-11-23 00:00:00"
    assert bill["extVouchCode"] == "TK000123-RF1" and bill["remarks"] == "TK-000123"
    assert bill["bodyItem"][0]["settleModeCode"] == "system_0001"
    assert sandbox.bills("salereturn") == []


async def test_refund__org_is_the_connections_not_another_erps(sandbox: Server) -> None:
    async with sandbox.connector(org="1002") as connector:
        await connector.write("refund.create", "K1", mapped("yonyou_refund_bill", MONEY_ONLY),
                              check_first=False)
    [bill] = sandbox.bills("arrefund")
    assert bill["financeOrgCode"] == "1002"


async def test_refund__the_sandbox_refuses_a_bill_without_its_required_fields(
    sandbox: Server,
) -> None:
    body = mapped("yonyou_refund_bill", MONEY_ONLY)
    del body["data"]["customerCode"]
    async with sandbox.connector() as connector:
        with pytest.raises(RejectedError, match="customer"):
            await connector.write("refund.create", "K2", body, check_first=False)
    assert sandbox.bills("arrefund") == []


async def test_sales_return__lines_carry_product_and_warehouse(sandbox: Server) -> None:
    async with sandbox.connector(warehouse="WH02") as connector:
        await connector.write("return.create", "K3", mapped("yonyou_sales_return", DOCUMENT),
                              check_first=False)
    [bill] = sandbox.bills("salereturn")
    assert bill["saleReturnDetails"][0]["productId"] == "P-1001"
    assert bill["saleReturnDetails"][0]["stockId"] == "WH02"


async def test_sales_return__product_code_and_no_warehouse__refused_as_yonbip_does(
    sandbox: Server,
) -> None:
    body = mapped("yonyou_sales_return", DOCUMENT)
    line = body["data"]["saleReturnDetails"][0]
    line["productCode"] = line.pop("productId")
    line["stockId"] = "WH01"
    async with sandbox.connector() as connector:
        with pytest.raises(RejectedError, match="第1行productId不能为空"):
            await connector.write("return.create", "K4", body, check_first=False)


async def test_parts__warehouse_of_the_part_else_of_the_connection(sandbox: Server) -> None:
    no_warehouse = {**DOCUMENT, "parts": [{**DOCUMENT["parts"][0], "warehouse": None}]}
    async with sandbox.connector(warehouse="WH01") as connector:
        for key, document in (("K5", DOCUMENT), ("K6", no_warehouse)):
            body = mapped("yonyou_parts_outbound", {**document, "idempotency_key": key})
            await connector.write("parts.consume", key, body, check_first=False)
    warehouses = {b["code"]: b["warehouse"] for b in sandbox.bills("othout")}
    assert warehouses == {"K5": "WH02", "K6": "WH01"}  # the part's own, then the connection's
    assert {b["org"] for b in sandbox.bills("othout")} == {"1001"}


async def test_parts__no_warehouse_anywhere__refused_before_any_call(sandbox: Server) -> None:
    no_warehouse = {**DOCUMENT, "parts": [{**DOCUMENT["parts"][0], "warehouse": None}]}
    async with sandbox.connector(warehouse=None) as connector:
        with pytest.raises(RejectedError, match="warehouse"):
            await connector.write("parts.consume", "K7",
                                  mapped("yonyou_parts_outbound", no_warehouse),
                                  check_first=False)
    assert not [p for p in sandbox.paths() if "othoutrecord" in p]


def test_sandbox__a_kingdee_warehouse_code_is_unknown(sandbox: Server) -> None:
    from connectors.yonyou.sandbox.seed import WAREHOUSES

    assert "CK001" not in WAREHOUSES


async def test_refund__listed_by_its_documented_date_filter(sandbox: Server) -> None:
    from datetime import datetime

    async with sandbox.connector() as connector:
        await connector.write("refund.create", "K8", mapped("yonyou_refund_bill", MONEY_ONLY),
                              check_first=False)
        same_day = await connector.list_written("refund.create", since=datetime(2026, 11, 23))
        later = await connector.list_written("refund.create", since=datetime(2026, 11, 24))
    assert [b.reference for b in same_day] == ["TK-000123"] and later == []
