"""Finding a ticket's customer in the enrich job's connection when the store has none:
tickets of one contact arriving together share one lookup."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from hub.store.models import Customer
from hub.tickets import TicketCreate, create_ticket

from .conftest import digits, history_calls, set_faults


def _finds(sandbox: Any) -> int:
    """Lookups by contact the CRM answered, from its request log."""
    return sum(1 for request in sandbox.state.requests
               if request["path"] == "/api/v1/customers" and request["query"].get("mobile"))


async def test_lookup__tickets_of_a_new_customer_arriving_together_share_one_find(
    enrich_hub: Any, crm_sandbox: Any
) -> None:
    hub = enrich_hub(cache_ttl="15m", source_timeout="20s", inline_wait="20s")
    vendor = crm_sandbox.state.customers[11]  # no pull ran: the store knows nobody
    set_faults(crm_sandbox, latency_ms=300)  # the first find is still in flight for the others
    tickets = await asyncio.gather(*(create_ticket(hub, TicketCreate(
        subject=f"第{n}单", contact_mobile=digits(vendor["contact"]["mobile"])), actor="test")
        for n in range(4)))
    assert {t.enrichment_status for t in tickets} == {"enriched"}
    assert len({t.customer_id for t in tickets}) == 1
    assert _finds(crm_sandbox) == 1 and history_calls(crm_sandbox) == 1
    with hub.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
