"""Ticket creation and enrichment from the CRM sandbox (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub.errors import NotFoundError
from hub.runtime import Hub
from hub.sync import run_pull
from hub.tickets import TicketCreate, create_ticket, get_ticket


def digits(mobile: str) -> str:
    return "".join(ch for ch in mobile if ch.isdigit())[-11:]


def as_sent(items: list[Any]) -> list[dict[str, Any]]:
    """History items as their system sent them: without the two fields the hub adds."""
    return [item.model_dump(mode="json", exclude={"source", "fetched_at"}) for item in items]


def messy_customer(sandbox: Any) -> dict[str, Any]:
    return next(c for c in sandbox.state.customers if not c["contact"]["mobile"].isdigit())


async def test_create__enriches_from_synced_customer_by_messy_mobile(
    hub: Hub, crm_sandbox: Any
) -> None:
    await run_pull(hub, "crm_customers")
    vendor = messy_customer(crm_sandbox)
    raw = digits(vendor["contact"]["mobile"])
    ticket = await create_ticket(hub, TicketCreate(
        subject="净水器漏水", contact_mobile=f"{raw[:3]} {raw[3:7]} {raw[7:]}"), actor="test")
    assert ticket.enrichment_status == "enriched"
    assert ticket.customer is not None and ticket.customer.external_id == vendor["id"]
    history = crm_sandbox.state.history(vendor["id"])
    assert ticket.history is not None
    assert as_sent(ticket.history.orders) == history["orders"]
    assert as_sent(ticket.history.interactions) == history["interactions"]
    assert ticket.history.deliveries == []
    assert ticket.history.model_extra == {"customer_id": vendor["id"]}
    assert {(item.source, item.fetched_at) for item in ticket.history.orders} <= {
        ("crm", ticket.sources[0].fetched_at)}
    assert ticket.summary is not None and ticket.summary.orders == len(history["orders"])
    assert get_ticket(hub, ticket.id) == ticket


async def test_create__by_email(hub: Hub, crm_sandbox: Any) -> None:
    await run_pull(hub, "crm_customers")
    vendor = next(c for c in crm_sandbox.state.customers if c["contact"]["email"])
    ticket = await create_ticket(hub, TicketCreate(
        subject="发票重开", contact_email=vendor["contact"]["email"].upper()), actor="test")
    assert ticket.customer is not None and ticket.customer.external_id == vendor["id"]


async def test_create__customer_not_yet_synced_is_looked_up_in_the_crm(
    hub: Hub, crm_sandbox: Any
) -> None:
    vendor = crm_sandbox.state.customers[3]
    ticket = await create_ticket(hub, TicketCreate(
        subject="咨询保修", contact_mobile=digits(vendor["contact"]["mobile"])), actor="test")
    assert ticket.enrichment_status == "enriched"
    assert ticket.customer is not None and ticket.customer.name == vendor["name"]


async def test_create__unknown_contact_is_not_found_but_ticket_exists(hub: Hub) -> None:
    ticket = await create_ticket(hub, TicketCreate(subject="路过", contact_mobile="13900000000"),
                                 actor="test")
    assert ticket.enrichment_status == "not_found"
    assert ticket.customer is None
    assert get_ticket(hub, ticket.id).subject == "路过"


async def test_create__crm_down_leaves_ticket_partially_enriched(
    hub: Hub, crm_sandbox: Any
) -> None:
    await run_pull(hub, "crm_customers")
    vendor = crm_sandbox.state.customers[0]
    httpx.post(f"{crm_sandbox.url}/_sandbox/faults",
               json={"status": 503, "count": 50}).raise_for_status()
    ticket = await create_ticket(hub, TicketCreate(
        subject="急：设备报警", contact_mobile=digits(vendor["contact"]["mobile"])), actor="test")
    assert ticket.enrichment_status == "partial"
    assert ticket.customer is not None  # the synced profile is still attached
    assert ticket.history is None
    assert "HTTP 503" in (ticket.enrichment_error or "")
    assert ticket.sources[0].status == "failed"


async def test_create__audited_without_secrets(
    hub: Hub, crm_sandbox: Any, audit_text: Any
) -> None:
    await create_ticket(hub, TicketCreate(subject="x", contact_mobile="13900000000"),
                        actor="agent:li")
    text = audit_text(hub)
    assert "ticket.create" in text and "ticket.enrich" in text
    assert crm_sandbox.api_key not in text
    assert hub.audit.verify().ok


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"subject": ""}, "at least 1 character"),
     ({"subject": "x", "contact_mobile": "12345"}, "not a valid mainland China mobile"),
     ({"subject": "x", "contact_email": "nobody"}, "not an email address"),
     ({"subject": "x", "mobile": "12345"}, "not a valid mainland China mobile"),
     ({"subject": "x", "severity": "high"}, "Extra inputs are not permitted")],
)
def test_ticket_create__rejects_bad_input(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TicketCreate(**fields)  # type: ignore[arg-type]


def test_get__missing_ticket(hub: Hub) -> None:
    with pytest.raises(NotFoundError, match="no ticket 999"):
        get_ticket(hub, 999)
