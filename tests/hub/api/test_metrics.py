"""GET /metrics: runs, records and the outbox, from the store, for integrators and admins."""

from __future__ import annotations

from typing import Any

from hub.outbox import Resolution
from hub.runtime import Hub
from hub.sync import run_pull
from hub.tickets import TicketCreate, create_ticket
from hub.tickets.resolve import resolve_ticket


async def test_metrics__runs_records_and_outbox(hub: Hub, api_client: Any,
                                                crm_sandbox: Any) -> None:
    await run_pull(hub, "crm_customers")
    ticket = await create_ticket(hub, TicketCreate(subject="退款", channel="web"), actor="t")
    resolve_ticket(hub, ticket.id, Resolution.model_validate(
        {"customer_number": "C002", "refund": {"amount": "10"}}), actor="t")

    with api_client(hub, role="integrator", scopes=()) as api:
        scraped = api.get("/metrics")
    with api_client(hub, role="agent", scopes=()) as api:
        refused = api.get("/metrics")

    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert 'hub_runs_total{job="crm_customers",status="succeeded"} 1.0' in text
    assert 'hub_run_records_total{job="crm_customers",outcome="read"} 120.0' in text
    assert ('hub_outbox_rows{action="refund.create",connection="kingdee",state="pending"} 1.0'
            in text)
    assert "hub_dead_letters 0.0" in text
    assert 'hub_enrichment_queue{state="done"} 1.0' in text  # the ticket, enriched
    assert 'hub_enrichment_queue{state="pending"} 0.0' in text
    assert crm_sandbox.api_key not in text
    assert refused.status_code == 403
