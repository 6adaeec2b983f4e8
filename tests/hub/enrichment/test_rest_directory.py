"""A CRM nobody here wrote, connected with YAML only: json-server (npm, typicode's fake REST
API, installed by scripts/test-servers) serving Chinese customers with their orders and past
interactions. The declarative `rest` connection pulls the customers incrementally, finds a
customer the pull has not brought yet by the ticket's mobile, and enriches tickets with
their orders and interactions (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.core.time import as_utc
from hub.enrichment import drain_enrichment
from hub.store.models import Customer
from hub.sync import run_pull
from hub.tickets import TicketCreate, create_ticket, get_ticket
from tests.hub.enrichment.conftest import CUSTOMERS, JsonServer

pytestmark = pytest.mark.slow  # a server in a process of its own

ROOT = Path(__file__).resolve().parents[3]

CONFIG = """\
version: 1
connections:
  homecrm:
    type: rest
    description: A home-grown CRM (json-server), connected with YAML only
    config:
      base_url: {url}
      streams:
        customers:
          path: /customers
          params: {{_sort: updatedAt, _order: asc, _page: 1, _limit: 15}}
          primary_key: id
          paginator: {{type: link}}
          incremental: {{cursor_field: updatedAt, param: updatedAt_gte, format: iso}}
      customers:
        find:
          path: /customers
          by:
            mobile: {{mobile: "{{mobile}}"}}
            email: {{email: "{{email}}"}}
        history:
          orders:
            path: /customers/{{id}}/orders
            params: {{_sort: createdAt, _order: desc}}
            fields: {{order_no: orderNo, total: amount, ordered_at: createdAt, status: state}}
          interactions:
            path: /interactions
            params: {{customerId: "{{id}}", _sort: at, _order: desc}}
jobs:
  homecrm_customers:
    kind: pull
    connection: homecrm
    stream: customers
    mapping: homecrm_customer
  ticket_enrichment:
    kind: enrich
    connection: homecrm
    mapping: homecrm_customer
    match: [mobile, email]
"""

MAPPING = """\
target: customer
version: 1
fields:
  external_id: {path: id, type: str, required: true}
  name: {path: name, type: str, required: true}
  mobile: {path: mobile, type: mobile}
  email: {path: email, type: email}
  tier: {path: level, type: str, map: {普通: standard, 金卡: gold, 钻石: vip}, default: standard}
  city: {path: address.city}
"""


@pytest.fixture
def homecrm_hub(json_server: JsonServer, database_url: str, make_hub: Any,
                tmp_path: Path) -> Iterator[Any]:
    mappings = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", mappings)
    (mappings / "homecrm_customer.yaml").write_text(MAPPING, encoding="utf-8")
    config = tmp_path / "hub.yaml"
    config.write_text(CONFIG.format(url=json_server.url), encoding="utf-8")
    hub = make_hub(database_url, config=config, mappings_dir=mappings)
    yield hub
    hub.close()


async def _enriched(hub: Any, subject: str, **contact: str) -> Any:
    """A ticket from these contacts, once the enrichment queue has been drained."""
    ticket = await create_ticket(hub, TicketCreate(subject=subject, **contact), actor="test")
    await drain_enrichment(hub)
    return get_ticket(hub, ticket.id)


def _stored(hub: Any) -> dict[str, Customer]:
    with hub.sessions() as session:
        return {c.external_id: c for c in session.scalars(sa.select(Customer))}


async def test_homecrm__pulls_incrementally_then_enriches_from_the_lookup_endpoints(
        homecrm_hub: Any, json_server: JsonServer) -> None:
    hub = homecrm_hub
    first = await run_pull(hub, "homecrm_customers")
    assert (first.status, first.created, first.pages) == ("succeeded", CUSTOMERS, 3)
    stored = _stored(hub)
    assert stored["7"].name == "客户07" and stored["7"].tier == "gold"
    assert stored["7"].mobile == "13800000007" and stored["7"].attributes == {"city": "杭州"}

    json_server.patch("customers", 12, {"level": "钻石", "updatedAt": "2026-11-02T09:00:00+08:00"})
    second = await run_pull(hub, "homecrm_customers")
    assert (second.created, second.updated) == (0, 1) and second.read <= 2
    assert _stored(hub)["12"].tier == "vip"

    enriched = await _enriched(hub, "滤芯漏水", contact_mobile="13800000007")
    assert enriched.enrichment_status == "enriched", enriched.enrichment_error
    assert enriched.customer is not None and enriched.customer.external_id == "7"
    assert enriched.history is not None
    orders = enriched.history.orders
    assert [o.model_extra["orderNo"] for o in orders] == ["SO007-3", "SO007-2", "SO007-1"]
    assert orders[0].model_extra["items"] == [{"sku": "P-3", "name": "净水器滤芯", "qty": 3}]
    assert {o.source for o in orders} == {"homecrm"} and orders[0].fetched_at is not None
    assert [i.model_extra["note"] for i in enriched.history.interactions] == ["咨询滤芯更换"]
    assert enriched.summary is not None
    # the refunded order left out of the total
    assert (enriched.summary.orders, enriched.summary.total_spent) == (3, "315.00")
    assert enriched.summary.last_order_at == "2026-10-03T09:00:00+08:00"
    assert enriched.summary.interactions == 1


async def test_homecrm__a_customer_the_pull_has_not_brought_is_found_by_mobile(
        homecrm_hub: Any, json_server: JsonServer) -> None:
    hub = homecrm_hub
    json_server.post("customers", {"id": 99, "name": "新客户", "mobile": "13999999999",
                                   "email": "new@example.com", "level": "普通",
                                   "updatedAt": "2026-11-03T10:00:00+08:00"})
    json_server.post("orders", {"id": 9901, "customerId": 99, "orderNo": "SO099-1",
                                "amount": "59.00", "createdAt": "2026-11-03T11:00:00+08:00",
                                "state": "已签收", "items": []})
    enriched = await _enriched(hub, "新客户咨询", contact_mobile="13999999999")
    assert enriched.enrichment_status == "enriched", enriched.enrichment_error
    assert enriched.customer is not None and enriched.customer.name == "新客户"
    assert _stored(hub)["99"].mobile == "13999999999"  # stored through the job's mapping
    assert enriched.history is not None and enriched.history.interactions == []
    assert [o.model_extra["orderNo"] for o in enriched.history.orders] == ["SO099-1"]

    nobody = await _enriched(hub, "路过", contact_email="nobody@example.com")
    assert nobody.enrichment_status == "not_found"


STORED_CONFIG_JOBS = """\
jobs:
  homecrm_customers:
    kind: pull
    connection: homecrm
    stream: customers
    mapping: homecrm_customer_with_orders
  ticket_enrichment:
    kind: enrich
    connection: homecrm
    mapping: homecrm_customer_with_orders
    history_from_store: [orders]
"""


async def test_homecrm__history_from_pulled_data_alone(
        json_server: JsonServer, database_url: str, make_hub: Any, tmp_path: Path) -> None:
    """A CRM with no per-customer endpoint: the pull brings each customer with their orders
    nested (json-server's `_embed`), the mapping keeps them, and enrichment serves them from
    the store — tagged with the connection and when the pull stored them, the connection
    never called."""
    mappings = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", mappings)
    (mappings / "homecrm_customer_with_orders.yaml").write_text(
        MAPPING + "  attributes.orders: {path: orders, type: list}\n", encoding="utf-8")
    config_text = CONFIG.format(url=json_server.url)
    # the same connection without `customers:` (no lookup endpoints), and these jobs
    config_text = config_text[:config_text.index("      customers:\n        find:")] + \
        STORED_CONFIG_JOBS
    config_text = config_text.replace("_page: 1, _limit: 15}", "_page: 1, _limit: 15, "
                                      "_embed: orders}")
    config = tmp_path / "hub.yaml"
    config.write_text(config_text, encoding="utf-8")
    hub = make_hub(database_url, config=config, mappings_dir=mappings)
    try:
        assert (await run_pull(hub, "homecrm_customers")).created == CUSTOMERS
        pulled_at = _stored(hub)["7"].updated_at
        enriched = await _enriched(hub, "滤芯漏水", contact_mobile="13800000007")
        assert enriched.enrichment_status == "enriched", enriched.enrichment_error
        assert enriched.customer is not None and "orders" not in enriched.customer.attributes
        assert enriched.history is not None
        orders = enriched.history.orders
        assert sorted(o.model_extra["orderNo"] for o in orders) == [
            "SO007-1", "SO007-2", "SO007-3"]
        assert {o.source for o in orders} == {"homecrm"}
        assert all(o.fetched_at is not None and abs(
            (o.fetched_at - as_utc(pulled_at)).total_seconds()) < 1 for o in orders)
        [source] = enriched.sources
        assert (source.status, source.cached) == ("ok", True)
        assert enriched.summary is not None and enriched.summary.orders == 3
        # not pulled: not found, and the CRM is not asked
        json_server.post("customers", {"id": 98, "name": "未同步", "mobile": "13988888888",
                                       "updatedAt": "2026-11-03T10:00:00+08:00"})
        late = await _enriched(hub, "未同步客户", contact_mobile="13988888888")
        assert late.enrichment_status == "not_found"
    finally:
        hub.close()


async def test_homecrm__an_api_that_pages_only_when_asked_is_a_warning_on_the_run(
        json_server: JsonServer, database_url: str, make_hub: Any, tmp_path: Path) -> None:
    """json-server names a next page (Link) only when asked for pages with `_page`: without
    it, `_limit: 15` answers 15 of the 40 customers and nothing more. The run says so."""
    from hub.jobs.run_queries import get_run

    mappings = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", mappings)
    (mappings / "homecrm_customer.yaml").write_text(MAPPING, encoding="utf-8")
    config = tmp_path / "hub.yaml"
    config.write_text(CONFIG.format(url=json_server.url).replace("_page: 1, ", ""),
                      encoding="utf-8")
    hub = make_hub(database_url, config=config, mappings_dir=mappings)
    try:
        summary = await run_pull(hub, "homecrm_customers")
        assert (summary.status, summary.read) == ("succeeded", 15)
        [warning] = get_run(hub, summary.run_id).warnings
        assert "ended on its first page, which was full (15 records)" in warning
        assert "(link paginator)" in warning and "records may be missing" in warning
    finally:
        hub.close()
