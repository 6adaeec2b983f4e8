"""The per-customer history cache: fresh snapshots answer without a call, expired ones are
fetched again, and concurrent tickets of one customer share one fetch, in one process and
across processes (two hubs on one store), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.enrichment import drain_enrichment
from hub.enrichment.cache import fetch_history, find_snapshot
from hub.store.models import CustomerSnapshot
from hub.sync import run_pull
from hub.tickets import TicketCreate, create_ticket

from .conftest import as_sent, digits, history_calls, set_faults, viewed


def _ticket(vendor: dict[str, Any], subject: str = "净水器漏水") -> TicketCreate:
    return TicketCreate(subject=subject, contact_mobile=digits(vendor["contact"]["mobile"]))


async def test_cache__fresh_snapshot_answers_without_a_vendor_call(
    enrich_hub: Any, crm_sandbox: Any
) -> None:
    hub = enrich_hub(cache_ttl="15m")
    await run_pull(hub, "crm_customers")
    vendor = crm_sandbox.state.customers[5]
    first = await create_ticket(hub, _ticket(vendor), actor="test")
    second = await create_ticket(hub, _ticket(vendor, "又漏水了"), actor="test")
    assert first.enrichment_status == second.enrichment_status == "enriched"
    assert history_calls(crm_sandbox) == 1
    assert first.sources[0].cached is False and second.sources[0].cached is True
    assert second.history == first.history
    assert as_sent(first.history) == viewed(crm_sandbox.state.history(vendor["id"]))


async def test_cache__expired_snapshot_is_fetched_again(
    enrich_hub: Any, crm_sandbox: Any
) -> None:
    hub = enrich_hub(cache_ttl="15m")
    await run_pull(hub, "crm_customers")
    vendor = crm_sandbox.state.customers[6]
    await create_ticket(hub, _ticket(vendor), actor="test")
    with hub.sessions.begin() as session:  # the snapshot's 15 minutes pass
        session.execute(update(CustomerSnapshot).values(
            fetched_at=datetime.now(UTC) - timedelta(minutes=16)))
    again = await create_ticket(hub, _ticket(vendor, "又漏水了"), actor="test")
    assert again.enrichment_status == "enriched"
    assert again.sources[0].cached is False
    assert history_calls(crm_sandbox) == 2


async def test_cache__zero_ttl_always_fetches(enrich_hub: Any, crm_sandbox: Any) -> None:
    hub = enrich_hub(cache_ttl=0)
    await run_pull(hub, "crm_customers")
    vendor = crm_sandbox.state.customers[7]
    for subject in ("一", "二"):
        await create_ticket(hub, _ticket(vendor, subject), actor="test")
    assert history_calls(crm_sandbox) == 2


async def test_cache__concurrent_tickets_of_one_customer_share_one_fetch(
    enrich_hub: Any, crm_sandbox: Any
) -> None:
    hub = enrich_hub(cache_ttl="15m", source_timeout="20s", inline_wait="20s")
    await run_pull(hub, "crm_customers")
    vendor = crm_sandbox.state.customers[8]
    set_faults(crm_sandbox, latency_ms=300)  # every fetch is still in flight for the others
    tickets = await asyncio.gather(*(
        create_ticket(hub, _ticket(vendor, f"第{n}单"), actor="test") for n in range(6)))
    assert {t.enrichment_status for t in tickets} == {"enriched"}
    assert history_calls(crm_sandbox) == 1
    sent = viewed(crm_sandbox.state.history(vendor["id"]))
    assert all(as_sent(t.history) == sent for t in tickets)


async def test_cache__processes_on_one_store_share_one_fetch(
    enrich_hub: Any, crm_sandbox: Any
) -> None:
    settings = {"cache_ttl": "15m", "source_timeout": "20s", "inline_wait": 0}
    one, two = enrich_hub(**settings), enrich_hub(**settings)  # two processes' worth
    await run_pull(one, "crm_customers")
    vendor = crm_sandbox.state.customers[9]
    for n in range(2):
        await create_ticket(one, _ticket(vendor, f"第{n}单"), actor="test")
    set_faults(crm_sandbox, latency_ms=300)
    results = await asyncio.gather(drain_enrichment(one, limit=1),
                                   drain_enrichment(two, limit=1))
    assert [r.claimed for r in results] == [1, 1]
    assert [r.enriched for r in results] == [1, 1]
    assert history_calls(crm_sandbox) == 1
    with one.sessions() as session:
        snapshot = session.scalars(select(CustomerSnapshot)).one()
        assert snapshot.fetch_owner is None and not snapshot.stale


async def test_cache__a_fresh_snapshot_is_read_while_another_process_writes(
    enrich_hub: Any, crm_sandbox: Any
) -> None:
    hub = enrich_hub(cache_ttl="15m")
    if hub.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's one write lock: PostgreSQL locks rows")
    await run_pull(hub, "crm_customers")
    vendor = crm_sandbox.state.customers[6]
    await create_ticket(hub, _ticket(vendor), actor="test")
    other = sqlite3.connect(hub.engine.url.database, isolation_level=None)
    other.execute("PRAGMA busy_timeout=0")
    other.execute("BEGIN IMMEDIATE")  # another process holds the store's write lock
    try:
        fetched = await fetch_history(hub, "crm", vendor["id"], ttl=900, timeout=5,
                                      actor="test")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert fetched.cached is True
    with hub.sessions() as session:
        assert fetched == find_snapshot(session, "crm", vendor["id"])
    assert history_calls(crm_sandbox) == 1
