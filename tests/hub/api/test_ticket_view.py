"""The typed 360° view holds for real tickets: tickets enriched from the CRM and Kingdee
sandboxes (orders, deliveries, interactions; failed, stale, not-found and skipped sources),
resolved with a refund and parts whose write-backs went out or died, and rows as earlier
versions stored them. GET /tickets/{id} writes its body straight from the row when it can;
that body must validate against TicketPublic (the model and the OpenAPI schema, formats
included) and say what the model says (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.enrichment.stored import VIEW_MARK, stored_enrichment
from hub.outbox import Resolution, dispatch
from hub.runtime import Hub
from hub.store.models import Ticket
from hub.sync import run_pull
from hub.tickets import TicketCreate, TicketPublic, create_ticket, get_versioned_ticket
from hub.tickets.reader import body_etag, public_json, read_raw, read_row
from hub.tickets.resolve import resolve_ticket
from tests.hub.enrichment.conftest import (  # noqa: F401 -- fixtures
    KingdeeSandbox,
    digits,
    enrich_hub,
    erp_mappings,
    kingdee_sandbox,
    set_faults,
)

jsonschema_rs = pytest.importorskip("jsonschema_rs")

BY_NUMBER = [{"connection": "kingdee", "key": "erp_number"}]
ERP_CUSTOMERS = {20: "C004", 21: "C010", 22: "C012", 23: "C013"}  # CRM index → Kingdee number


async def _enriched_tickets(hub: Hub, crm: Any, kingdee: KingdeeSandbox) -> list[int]:
    """Tickets of every enrichment outcome the two sandboxes give."""
    for index, number in ERP_CUSTOMERS.items():
        crm.state.update_customer(crm.state.customers[index]["id"], {"erp_code": number})
    await run_pull(hub, "crm_customers")

    def new(index: int, subject: str) -> TicketCreate:
        mobile = digits(crm.state.customers[index]["contact"]["mobile"])
        return TicketCreate(subject=subject, channel="phone", contact_mobile=mobile)

    ids = [(await create_ticket(hub, new(index, "净水器漏水"), actor="test")).id
           for index in ERP_CUSTOMERS]
    kingdee.faults.fail_next(200, status=503)  # the ERP down: its last snapshot, stale
    ids.append((await create_ticket(hub, new(20, "又漏水了"), actor="test")).id)
    kingdee.faults.reset()
    ids.append((await create_ticket(hub, TicketCreate(
        subject="路过", contact_mobile="13900000000"), actor="test")).id)  # nobody
    set_faults(crm, status=503, count=50)  # the CRM down: partial, retried later
    ids.append((await create_ticket(hub, new(21, "设备报警"), actor="test")).id)
    return ids


async def _resolved(hub: Hub, ids: list[int]) -> None:
    """A refund and parts sent to Kingdee, and a part it refuses (a dead letter)."""
    resolve_ticket(hub, ids[0], Resolution.model_validate({
        "note": "更换滤芯并退部分货款", "refund": {"amount": "88.50", "reason": "漏水"},
        "parts": [{"material": "P-1001", "qty": "2"}]}), actor="agent")
    resolve_ticket(hub, ids[1], Resolution.model_validate({
        "parts": [{"material": "P-404", "qty": "1"}]}), actor="agent")
    await dispatch(hub)


def _legacy_rows(hub: Hub) -> list[int]:
    """Rows as earlier versions stored them: the first enrichment's shape (no mapping, no
    attempt, no defaults) and an import's own words for status, priority and channel."""
    now = datetime.now(UTC)
    enrichment = {
        "customer": {"id": 1, "source": "crm", "external_id": "C000001", "name": "王芳",
                     "company": None, "mobile": "13812345678", "email": None, "tier": "vip",
                     "attributes": {"city": "上海"}},
        "history": {"customer_id": "C000001",
                    "orders": [{"order_no": "SO1", "total": "12.50", "source": "天猫"}],
                    "interactions": []},
        "summary": {"orders": 1, "total_spent": "12.50", "last_order_at": None,
                    "interactions": 0},
        "sources": [{"connection": "crm", "status": "ok", "fetched_at": now.isoformat()}]}
    rows: list[dict[str, Any]] = [
        {"subject": "老工单", "channel": "web", "status": "open", "enrichment": enrichment,
         "enrichment_status": "enriched", "enriched_at": now},
        {"subject": "导入的工单", "channel": "import", "status": "in_progress", "priority": "高",
         "enrichment_status": "skipped", "external_ref": "legacy:T-9"}]
    with hub.sessions.begin() as session:
        tickets = [Ticket(**row, description="", created_at=now, updated_at=now)
                   for row in rows]
        session.add_all(tickets)
        session.flush()
        return [ticket.id for ticket in tickets]


def _validator(document: dict[str, Any]) -> Any:
    schema = {**document["components"]["schemas"]["TicketPublic"],
              "components": document["components"]}
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def _fast_and_model(hub: Hub, ticket_id: int) -> tuple[bytes, bytes]:
    """The row's body as the click path writes it (without write-backs), and the model's."""
    row = read_row(hub, ticket_id)
    fast = public_json(row)
    assert fast is not None
    return fast, TicketPublic.of(row).model_dump_json().encode()


async def test_real_tickets__the_fast_body_is_the_typed_model(
        enrich_hub: Any, crm_sandbox: Any, kingdee_sandbox: KingdeeSandbox,  # noqa: F811
        erp_mappings: Any, api_client: Any) -> None:  # noqa: F811
    hub = enrich_hub(mappings_dir=erp_mappings, sources=BY_NUMBER, cache_ttl=0,
                     retry={"attempts": 3, "backoff_initial": 60})
    ids = await _enriched_tickets(hub, crm_sandbox, kingdee_sandbox)
    await _resolved(hub, ids)
    ids += _legacy_rows(hub)

    with api_client(hub) as api:
        validator = _validator(api.get("/openapi.json").json())
        bodies = {ticket_id: api.get(f"/tickets/{ticket_id}") for ticket_id in ids}
    views = []
    for ticket_id, response in bodies.items():
        assert response.status_code == 200, response.text
        assert list(validator.iter_errors(response.json())) == [], ticket_id
        view = TicketPublic.model_validate_json(response.content)
        assert view == get_versioned_ticket(hub, ticket_id).ticket
        fast, model = _fast_and_model(hub, ticket_id)
        assert json.loads(fast) == json.loads(model), ticket_id
        assert list(validator.iter_errors(json.loads(fast))) == [], ticket_id
        TicketPublic.model_validate_json(fast)
        views.append(view)
    _assert_covered(views)


async def test_real_tickets__stored_in_the_view_shape_and_answered_as_stored(
        enrich_hub: Any, crm_sandbox: Any, kingdee_sandbox: KingdeeSandbox,  # noqa: F811
        erp_mappings: Any, api_client: Any) -> None:  # noqa: F811
    """The pipeline stores the enrichment as the answer shows it; on SQLite the answer puts
    the stored text in as it is, and that must be the body the model path writes, byte for
    byte (the ETag hashes it: a GET and PATCH's If-Match check must agree)."""
    hub = enrich_hub(mappings_dir=erp_mappings, sources=BY_NUMBER, cache_ttl=0,
                     retry={"attempts": 3, "backoff_initial": 60})
    ids = await _enriched_tickets(hub, crm_sandbox, kingdee_sandbox)
    with api_client(hub) as api:
        answers = {ticket_id: api.get(f"/tickets/{ticket_id}") for ticket_id in ids}
    sqlite = hub.engine.dialect.name == "sqlite"
    for ticket_id, response in answers.items():
        row = read_row(hub, ticket_id)
        stored = row.enrichment
        assert VIEW_MARK in stored and stored_enrichment(stored) == stored  # JSONB: any order
        if sqlite:  # the text the answer splices in: compact, UTF-8, the mark last
            raw = read_raw(hub, ticket_id)
            assert any(type(value) is str and value.startswith('{"customer":')
                       and value.endswith(',"view":1}') for value in raw), ticket_id
        assert response.content == public_json(row), ticket_id
        assert response.headers["etag"] == body_etag(response.content)
        assert response.headers["etag"] == get_versioned_ticket(hub, ticket_id).etag


def _assert_covered(views: list[TicketPublic]) -> None:
    """The tickets above hold what the test claims to check."""
    assert {v.enrichment_status for v in views} >= {"enriched", "partial", "not_found",
                                                    "skipped"}
    sources = [s for v in views for s in v.sources]
    assert {s.status for s in sources} == {"ok", "failed", "not_found", "skipped"}
    assert any(s.stale for s in sources) and any(s.retry_at for s in sources)
    histories = [v.history for v in views if v.history is not None]
    assert all(h.orders for h in histories[:4]) and any(h.deliveries for h in histories)
    assert any(h.interactions for h in histories)
    assert {o.source for h in histories for o in h.orders} == {"crm", "kingdee"}
    assert all(item.fetched_at is not None for h in histories[:4]
               for item in (*h.orders, *h.deliveries, *h.interactions))
    resolved = [v for v in views if v.resolution is not None]
    assert resolved[0].resolution is not None and resolved[0].resolution.refund is not None
    assert resolved[0].resolution.parts
    assert {w.status for v in resolved for w in v.writebacks} == {"done", "dead"}
    assert any(w.number for v in resolved for w in v.writebacks)
    assert any(w.error for v in resolved for w in v.writebacks)
    legacy, imported = views[-2:]
    assert legacy.customer is not None and legacy.customer.mapping is None
    assert legacy.history is not None and legacy.history.orders[0].source == "crm"
    assert legacy.history.orders[0].model_extra == {"order_no": "SO1", "total": "12.50"}
    assert (imported.status, imported.priority, imported.channel) == ("open", "normal", "other")


async def test_list__answers_the_same_typed_tickets(
        hub: Hub, api_client: Any) -> None:
    [legacy, imported] = _legacy_rows(hub)
    with api_client(hub) as api:
        listed = api.get("/tickets").json()["items"]
        got = [api.get(f"/tickets/{ticket_id}").json() for ticket_id in (imported, legacy)]
    assert listed == got
