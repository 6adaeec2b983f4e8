"""The shipped write-back mappings produce Models the sandbox's Save accepts, reference included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from hub.mapping import compile_mapping, parse_spec

from .conftest import Kingdee

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"
DOCUMENT: dict[str, Any] = {
    "id": 123, "ticket_ref": "TK-000123", "idempotency_key": "TK000123-RF1",
    "resolved_at": "2026-11-23T10:00:00+08:00", "org": None, "subject": "漏水",
    "description": None, "category": None, "note": "换滤芯",
    "customer": {"id": 7, "name": "华东", "external_id": "C002", "erp_number": "C002",
                 "mobile": None, "email": None},
    "refund": {"amount": "88.50", "currency": "CNY", "method": "wire", "reason": "漏水退款",
               "lines": [{"amount": "88.50", "method": "wire", "material": None, "qty": None}]},
    "parts": [{"material": "p-1001", "qty": "2", "unit": None, "warehouse": None, "note": None}],
    "solution": None,
}


def _map(name: str, document: dict[str, Any]) -> dict[str, Any]:
    spec = parse_spec(YAML(typ="safe").load((MAPPINGS / f"{name}.yaml").read_text("utf-8")))
    mapped = compile_mapping(spec, name=name)(document)
    assert mapped is not None
    return dict(mapped)


async def test_refund_mapping__saved_submitted_audited_with_its_reference(
    kingdee: Kingdee
) -> None:
    model = _map("kingdee_refund_bill", DOCUMENT)
    async with kingdee.connector() as erp:
        result = await erp.write("refund.create", "TK000123-RF1", model, check_first=True)
    assert (result.step, result.reference, result.amount) == ("done", "TK-000123", "88.50")


async def test_parts_mapping__saved_with_its_reference(kingdee: Kingdee) -> None:
    model = _map("kingdee_parts_outbound", {**DOCUMENT, "idempotency_key": "TK000123-PC1"})
    async with kingdee.connector() as erp:
        result = await erp.write("parts.consume", "TK000123-PC1", model, check_first=True)
    assert (result.step, result.reference, result.counterparty) == ("done", "TK-000123", "C002")
    [bill] = kingdee.bills("STK_MisDelivery")
    assert bill["FENTITY"][0]["FMATERIALID"]["FNUMBER"] == "P-1001"


async def test_customer_mapping__every_sandbox_customer_maps_landlines_kept(
    kingdee: Kingdee,
) -> None:
    mapping = compile_mapping(parse_spec(YAML(typ="safe").load(
        (MAPPINGS / "kingdee_customer.yaml").read_text("utf-8"))), name="kingdee_customer")
    async with kingdee.connector() as erp:
        rows = [row async for batch in erp.read("customers") for row in batch.records]
    customers = [mapping(row) for row in rows]  # a row error would raise here
    landlines = [c for c in customers if c is not None and c["mobile"] is None]
    assert landlines and all(c["attributes"]["phone"].startswith("0755-") for c in landlines)
    assert all(c is not None and c["attributes"]["phone"] for c in customers)
