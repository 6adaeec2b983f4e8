"""Streams: both page shapes, incremental customers, history, reference data."""

from __future__ import annotations

import time

import httpx

from connectors.yonyou._signing import token_signature

from .conftest import Server


async def test_customers__bare_array_pages_until_a_short_page(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        batches = [b async for b in connector.read("customers")]
    assert [len(b.records) for b in batches] == [5, 5, 2]  # 12 customers, page_size 5
    assert batches[-1].state == "2026-01-05 21:00:00"
    bodies = [r for r in sandbox.state.log if r["path"].endswith("newlist")]
    assert len(bodies) == 3


async def test_customers__exact_multiple_stops_on_the_empty_page(sandbox: Server) -> None:
    async with sandbox.connector(page_size=4) as connector:
        batches = [b async for b in connector.read("customers")]
    assert sum(len(b.records) for b in batches) == 12
    assert len([r for r in sandbox.state.log if r["path"].endswith("newlist")]) == 4


async def test_customers__incremental_on_pubts(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        batches = [b async for b in connector.read("customers", state="2026-01-05 19:00:00")]
    codes = [r["code"] for b in batches for r in b.records]
    assert codes == ["C010", "C011", "C012"]  # the cursor's own row repeats: an upsert
    assert batches[-1].state == "2026-01-05 21:00:00"


async def test_sales_orders__record_list_pages_by_page_count(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        batches = [b async for b in connector.read("sales_orders")]
    assert sum(len(b.records) for b in batches) == 30
    assert len(batches) == 6
    dates = [r["vouchdate"] for b in batches for r in b.records]
    assert dates == sorted(dates)


async def test_other_streams__materials_deliveries_stock(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        counts = {name: sum([len(b.records) async for b in connector.read(name)])
                  for name in ("materials", "deliveries", "stock")}
    assert counts == {"materials": 8, "deliveries": 20, "stock": 16}


async def test_customer_history__orders_and_deliveries_newest_first(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        history = await connector.customer_history("C002")
    assert [o["code"] for o in history["orders"]] == ["SO00026", "SO00014", "SO00002"]
    assert all(d["agentId_code"] == "C002" for d in history["deliveries"])
    dates = [d["vouchdate"] for d in history["deliveries"]]
    assert dates == sorted(dates, reverse=True) and dates


async def test_find_customer__by_mobile_or_none(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        found = await connector.find_customer(mobile="13800000003")
        missing = await connector.find_customer(email="nobody@example.cn")
    assert found is not None and found["code"] == "C003"
    assert missing is None


async def test_reference__customers_and_materials_by_code(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        materials = await connector.reference("material", ["P-1001", "P-9999"])
        customers = await connector.reference("customer", {"C004"})
    assert list(materials) == ["P-1001"] and list(customers) == ["C004"]


def test_sandbox__unknown_path_is_404_before_the_token(sandbox: Server) -> None:
    response = httpx.post(sandbox.url + "/iuap-api-gateway/yonbip/no/such", json={})
    assert response.status_code == 404 and response.json()["code"] == "310404"
    missing = httpx.post(sandbox.url + "/iuap-api-gateway/yonbip/sd/voucherorder/list",
                         json={})
    assert missing.json()["code"] == "310001"
    bogus = httpx.post(sandbox.url + "/iuap-api-gateway/yonbip/sd/voucherorder/list",
                       params={"access_token": "bogus"}, json={})
    assert bogus.json() == {"code": "310036", "message": "非法token"}


def _gateway(sandbox: Server, path: str, body: dict[str, object]) -> dict[str, object]:
    issued, _ = sandbox.state.auth.issue(_signed_query())
    response = httpx.post(sandbox.url + "/iuap-api-gateway/yonbip" + path,
                          params={"access_token": issued["data"]["access_token"]}, json=body)
    answer: dict[str, object] = response.json()
    return answer


def _signed_query() -> dict[str, str]:
    stamp = str(int(time.time() * 1000))
    return {"appKey": Server.app_key, "timestamp": stamp,
            "signature": token_signature(Server.app_key, stamp, Server.app_secret)}


def test_sandbox__a_list_without_page_size_answers_the_default_ten(sandbox: Server) -> None:
    stock = _gateway(sandbox, "/scm/stock/QueryCurrentStocksByCondition", {})
    assert isinstance(stock["data"], list) and len(stock["data"]) == 10  # of 16


def test_sandbox__reference_fields_filter_by_id_only(sandbox: Server) -> None:
    refused = _gateway(sandbox, "/sd/voucherorder/list", {
        "simpleVOs": [{"field": "agentId.code", "op": "eq", "value1": "C002"}]})
    assert refused["code"] == "999" and "参照类型只能传id" in str(refused["message"])


async def test_stock__every_row_with_an_explicit_page_size(sandbox: Server) -> None:
    async with sandbox.connector(page_size=5) as connector:
        batches = [b async for b in connector.read("stock")]
    assert [len(b.records) for b in batches] == [5, 5, 5, 1]
    keys = {(r["product_code"], r["warehouse_code"]) for b in batches for r in b.records}
    assert len(keys) == 16


async def test_customer_history__unknown_customer_has_none(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        history = await connector.customer_history("C999")
    assert history == {"customer": "C999", "orders": [], "deliveries": []}


async def test_reference__every_code_asked_is_found(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        materials = await connector.reference("material", ["P-1005", "P-1001", "P-1008"])
    assert sorted(materials) == ["P-1001", "P-1005", "P-1008"]
    assert materials["P-1005"]["code"] == "P-1005"
