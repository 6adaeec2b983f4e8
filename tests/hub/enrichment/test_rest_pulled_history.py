"""A CRM with no per-customer endpoint, connected with YAML only (json-server, see
conftest.py): separate pull jobs land its customers, orders (with their lines) and
interactions incrementally, and a ticket of one of those customers is enriched with the
orders and interactions from the store alone — no lookup endpoint declared, the CRM never
asked by enrichment (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console

from hub.cli.render.tickets import ticket_panel
from hub.core.time import as_utc
from hub.enrichment import drain_enrichment
from hub.store.models import AuditRecord, Interaction, Order, Run, Ticket
from hub.sync import run_pull
from hub.tickets import TicketCreate, create_ticket, get_ticket
from tests.hub.enrichment.conftest import CUSTOMERS, JsonServer

pytestmark = pytest.mark.slow  # a server in a process of its own

ROOT = Path(__file__).resolve().parents[3]

_STREAM = """\
        {name}:
          path: /{name}
          params: {{_sort: updatedAt, _order: asc, _page: 1, _limit: {limit}}}
          primary_key: id
          paginator: {{type: link}}
          incremental: {{cursor_field: updatedAt, param: updatedAt_gte, format: iso}}
"""
CONFIG = """\
version: 1
connections:
  homecrm:
    type: rest
    description: A home-grown CRM (json-server) without per-customer endpoints
    config:
      base_url: {url}
      streams:
""" + _STREAM.format(name="customers", limit=15) + _STREAM.format(name="orders", limit=50) \
    + _STREAM.format(name="interactions", limit=50) + _STREAM.format(name="tickets", limit=2) \
    + """\
jobs:
  homecrm_customers: {kind: pull, connection: homecrm, stream: customers,
                      mapping: homecrm_customer}
  homecrm_orders: {kind: pull, connection: homecrm, stream: orders, target: orders,
                   mapping: homecrm_order}
  homecrm_interactions: {kind: pull, connection: homecrm, stream: interactions,
                         target: interactions, mapping: homecrm_interaction}
  helpdesk_tickets: {kind: pull, connection: homecrm, stream: tickets, target: tickets,
                     mapping: homecrm_ticket}
  ticket_enrichment:
    kind: enrich
    connection: homecrm
    mapping: homecrm_customer
    history_from_store: [orders, interactions]
"""
MAPPINGS = {
    "homecrm_ticket": """\
target: ticket
version: 1
fields:
  external_ref: {path: ref, type: str, required: true}
  subject: {path: title, type: str}
  status: {path: state, type: str}
  contact_mobile: {path: phone, type: mobile}
  created_at: {path: openedAt, type: datetime}
""",
    "homecrm_customer": """\
target: customer
version: 1
fields:
  external_id: {path: id, type: str, required: true}
  name: {path: name, type: str, required: true}
  mobile: {path: mobile, type: mobile}
  email: {path: email, type: email}
""",
    "homecrm_order": """\
target: order
version: 1
fields:
  external_id: {path: id, type: str, required: true}
  customer_external_id: {path: customerId, type: str, required: true}
  order_no: {path: orderNo, type: str}
  ordered_at: {path: createdAt, type: str}
  status: {path: state, type: str}
  total: {path: amount, type: decimal}
  items: {path: items, type: list}
""",
    "homecrm_interaction": """\
target: interaction
version: 1
fields:
  external_id: {path: id, type: str, required: true}
  customer_external_id: {path: customerId, type: str, required: true}
  at: {path: at, type: str}
  channel: {path: channel, type: str}
  summary: {path: note, type: str}
""",
}


@pytest.fixture
def pulled_hub(json_server: JsonServer, database_url: str, make_hub: Any,
               tmp_path: Path) -> Iterator[Any]:
    mappings = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", mappings)
    for name, text in MAPPINGS.items():
        (mappings / f"{name}.yaml").write_text(text, encoding="utf-8")
    config = tmp_path / "hub.yaml"
    config.write_text(CONFIG.replace("{url}", json_server.url), encoding="utf-8")
    hub = make_hub(database_url, config=config, mappings_dir=mappings)
    yield hub
    hub.close()


def _rows(hub: Any, model: Any) -> dict[str, Any]:
    with hub.sessions() as session:
        return {row.external_id: row for row in session.scalars(sa.select(model))}


def _audited(hub: Any, action: str) -> list[AuditRecord]:
    with hub.sessions() as session:
        return list(session.scalars(sa.select(AuditRecord).where(AuditRecord.action == action)))


async def test_pulled_history__orders_and_interactions_incrementally(
        pulled_hub: Any, json_server: JsonServer) -> None:
    hub = pulled_hub
    orders = await run_pull(hub, "homecrm_orders")  # before their customers: linked later
    assert (orders.status, orders.created, orders.pages) == ("succeeded", 3 * CUSTOMERS, 3)
    stored = _rows(hub, Order)["702"]
    assert (stored.source, stored.customer_external_id) == ("homecrm", "7")
    assert stored.item["items"] == [{"sku": "P-2", "name": "净水器滤芯", "qty": 2}]
    assert stored.item["total"] == "207.50" and stored.item["order_no"] == "SO007-2"
    assert len(_audited(hub, "order.create")) == 3 * CUSTOMERS
    interactions = await run_pull(hub, "homecrm_interactions")
    assert interactions.created == CUSTOMERS
    assert _rows(hub, Interaction)["1007"].item["summary"] == "咨询滤芯更换"

    json_server.patch("orders", 702, {"amount": "199.00",
                                      "updatedAt": "2026-11-05T10:00:00+08:00"})
    again = await run_pull(hub, "homecrm_orders")
    assert (again.created, again.updated) == (0, 1)
    assert again.read == again.updated + again.unchanged <= 2  # from the cursor on
    assert len(_rows(hub, Order)) == 3 * CUSTOMERS
    assert _rows(hub, Order)["702"].item["total"] == "199.00"
    [audit] = _audited(hub, "order.update")
    assert audit.detail["fields"] == ["total"]  # the mapped fields only
    assert audit.target == f"order:{stored.id}"
    assert (await run_pull(hub, "homecrm_orders")).updated == 0


async def test_pulled_history__a_ticket_enriched_from_the_store_alone(
        pulled_hub: Any, json_server: JsonServer) -> None:
    hub = pulled_hub
    for job in ("homecrm_orders", "homecrm_interactions", "homecrm_customers"):
        assert (await run_pull(hub, job)).status == "succeeded"
    stored_at = {key: as_utc(row.updated_at) for key, row in _rows(hub, Order).items()}

    ticket = await create_ticket(hub, TicketCreate(subject="滤芯漏水",
                                                   contact_mobile="13800000007"), actor="test")
    await drain_enrichment(hub)
    enriched = get_ticket(hub, ticket.id)
    assert enriched.enrichment_status == "enriched", enriched.enrichment_error
    assert enriched.customer is not None and enriched.customer.external_id == "7"
    assert enriched.history is not None
    orders = enriched.history.orders
    assert [o.model_extra["order_no"] for o in orders] == ["SO007-3", "SO007-2", "SO007-1"]
    assert orders[1].model_extra["items"] == [{"sku": "P-2", "name": "净水器滤芯", "qty": 2}]
    assert {o.source for o in orders} == {"homecrm"}
    for order in orders:  # each row's own freshness, and the system's: the latest of them
        assert order.model_extra["stored_at"] == stored_at[order.model_extra["external_id"]
                                                           ].isoformat()
        assert order.fetched_at is not None and order.fetched_at >= stored_at["701"]
    [call] = enriched.history.interactions
    assert (call.source, call.model_extra["summary"]) == ("homecrm", "咨询滤芯更换")
    [source] = enriched.sources
    assert (source.connection, source.status, source.cached) == ("homecrm", "ok", True)
    assert enriched.summary is not None
    assert (enriched.summary.orders, enriched.summary.total_spent) == (3, "315.00")
    assert enriched.summary.interactions == 1
    # the agent's terminal view: each order and contact with its system and freshness
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(ticket_panel(enriched))
    shown = console.export_text()
    assert "SO007-2" in shown and "净水器滤芯 ×2" in shown and "咨询滤芯更换" in shown
    assert shown.count(f"homecrm {stored_at['702'].isoformat()[:16].replace('T', ' ')}") >= 1

    # a changed order reaches the open ticket: it is enriched again from the store
    json_server.patch("orders", 702, {"amount": "199.00",
                                      "updatedAt": "2026-11-05T10:00:00+08:00"})
    assert (await run_pull(hub, "homecrm_orders")).updated == 1
    await drain_enrichment(hub)
    again = get_ticket(hub, ticket.id)
    assert again.summary is not None and again.summary.total_spent == "306.50"
    assert again.history is not None and again.history.orders[0].fetched_at is not None
    assert again.history.orders[0].fetched_at > orders[0].fetched_at


async def test_pulled_history__the_api_shows_the_stored_history(
        pulled_hub: Any, api_client: Any) -> None:
    hub = pulled_hub
    for job in ("homecrm_customers", "homecrm_orders", "homecrm_interactions"):
        await run_pull(hub, job)
    ticket = await create_ticket(hub, TicketCreate(subject="安装预约",
                                                   contact_mobile="13800000012"), actor="test")
    await drain_enrichment(hub)
    with api_client(hub) as api:
        answer = api.get(f"/tickets/{ticket.id}")
    assert answer.status_code == 200, answer.text
    history = answer.json()["history"]
    assert [o["order_no"] for o in history["orders"]] == ["SO012-3", "SO012-2", "SO012-1"]
    assert all(o["source"] == "homecrm" and o["fetched_at"] and o["stored_at"]
               for o in [*history["orders"], *history["interactions"]])
    assert [i["summary"] for i in history["interactions"]] == ["咨询滤芯更换"]



async def test_pulled_tickets__another_helpdesk_s_tickets_by_external_ref(
        pulled_hub: Any, json_server: JsonServer) -> None:
    hub = pulled_hub
    first = await run_pull(hub, "helpdesk_tickets")
    assert (first.status, first.created, first.pages) == ("succeeded", 5, 3)
    with hub.sessions() as session:
        tickets = {t.external_ref: t for t in session.scalars(sa.select(Ticket))}
    assert set(tickets) == {f"HD-{n}" for n in range(1, 6)}
    one = tickets["HD-3"]
    assert (one.subject, one.status, one.channel, one.contact_mobile) == (
        "滤芯漏水", "closed", "homecrm", "13800000003")
    assert as_utc(one.created_at).isoformat() == "2026-09-03T00:00:00+00:00"
    assert len(_audited(hub, "ticket.create")) == 5

    json_server.patch("tickets", 3, {"title": "滤芯漏水（已换新）",
                                     "updatedAt": "2026-11-06T09:00:00+08:00"})
    again = await run_pull(hub, "helpdesk_tickets")
    assert (again.created, again.updated) == (0, 1)
    with hub.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 5
        assert session.get_one(Ticket, one.id).subject == "滤芯漏水（已换新）"
    [audit] = _audited(hub, "ticket.update")
    assert (audit.target, audit.detail["fields"]) == (f"ticket:{one.id}", ["subject"])
    assert audit.detail["external_id"] == "HD-3"


async def test_pulled_history__an_order_without_its_customer_is_rejected_alone(
        pulled_hub: Any, json_server: JsonServer, tmp_path: Path) -> None:
    """A mapping may leave the link optional; the record without it is rejected, naming the
    field and the record, and the rest of its page lands."""
    hub = pulled_hub
    lenient = MAPPINGS["homecrm_order"].replace(
        "customer_external_id: {path: customerId, type: str, required: true}",
        "customer_external_id: {path: customerId, type: str}")
    (tmp_path / "mappings" / "homecrm_order.yaml").write_text(lenient, encoding="utf-8")
    json_server.patch("orders", 702, {"customerId": None})
    summary = await run_pull(hub, "homecrm_orders")
    assert (summary.status, summary.rejected, summary.created) == (
        "partial", 1, 3 * CUSTOMERS - 1)
    assert "702" not in _rows(hub, Order)
    with hub.sessions() as session:
        run = session.get_one(Run, summary.run_id)
        [error] = run.errors["records"]
    assert error["record"] == "702"
    assert "customer_external_id" in error["error"] and "required: true" in error["error"]
