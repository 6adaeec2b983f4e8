"""The enrichment queue: rows written with the ticket, claimed under a lease by one process
at a time, taken over when a killed claimer's lease runs out, and never settled by a claimer
whose lease a newer event took (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.enrichment import depth, drain_enrichment, enqueue
from hub.enrichment.queue import claim, claim_ticket, release, settle
from hub.runtime import Hub
from hub.store.models import CustomerSnapshot, EnrichmentTask
from hub.sync import run_pull
from hub.tickets import TicketCreate, create_ticket, get_ticket, insert_ticket

from .conftest import ROOT, clear_faults, digits, set_faults

LEASE = timedelta(minutes=1)


def _insert(hub: Any, n: int = 1) -> list[int]:
    with hub.sessions.begin() as session:
        return [insert_ticket(hub, session, TicketCreate(subject=f"t{i}"), actor="test").id
                for i in range(n)]


def test_insert_ticket__owes_an_enrichment_in_the_same_transaction(enrich_hub: Any) -> None:
    hub = enrich_hub()
    with pytest.raises(RuntimeError), hub.sessions.begin() as session:
        insert_ticket(hub, session, TicketCreate(subject="rolled back"), actor="test")
        raise RuntimeError
    [ticket_id] = _insert(hub)
    with hub.sessions() as session:
        rows = session.scalars(select(EnrichmentTask)).all()
        assert [(r.ticket_id, r.reason, r.status, r.attempts) for r in rows] == [
            (ticket_id, "created", "pending", 0)]
        assert depth(session, datetime.now(UTC))["pending"] == 1


def test_claim__one_claimer_per_row_until_the_lease_runs_out(enrich_hub: Any) -> None:
    hub = enrich_hub()
    ids = _insert(hub, 3)
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        first = claim(session, owner="a", limit=2, now=now, lease=LEASE)
    with hub.sessions.begin() as session:
        second = claim(session, owner="b", limit=5, now=now, lease=LEASE)
        assert claim_ticket(session, ids[0], owner="b", now=now, lease=LEASE) is None
    assert sorted(c.ticket_id for c in first + second) == ids
    assert not {c.id for c in first} & {c.id for c in second}
    with hub.sessions.begin() as session:
        late = claim(session, owner="c", limit=5, now=now + LEASE + timedelta(seconds=1),
                     lease=LEASE)
    assert sorted(c.ticket_id for c in late) == ids and {c.attempts for c in late} == {2}


def test_settle__a_newer_event_takes_the_lease_and_the_old_claimer_writes_nothing(
    enrich_hub: Any
) -> None:
    hub = enrich_hub()
    [ticket_id] = _insert(hub)
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        [claimed] = claim(session, owner="old", limit=1, now=now, lease=LEASE)
    with hub.sessions.begin() as session:
        enqueue(session, ticket_id, reason="customer_changed", now=now)
    with hub.sessions.begin() as session:
        assert not settle(session, claimed.id, owner="old", error=None, retry_at=None, now=now)
        assert not release(session, claimed.id, owner="old", now=now)
        [again] = claim(session, owner="new", limit=1, now=now, lease=LEASE)
    assert (again.reason, again.attempts) == ("customer_changed", 1)
    with hub.sessions.begin() as session:
        assert release(session, again.id, owner="new", now=now)
        assert session.get_one(EnrichmentTask, again.id).attempts == 0


def test_enqueue__unknown_reason_is_refused(enrich_hub: Any) -> None:
    hub = enrich_hub()
    [ticket_id] = _insert(hub)
    with pytest.raises(ValueError, match="unknown enrichment reason 'updated'"), \
            hub.sessions.begin() as session:
        enqueue(session, ticket_id, reason="updated", now=datetime.now(UTC))


def _wait_for(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 60
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
async def test_drain__a_killed_claimers_rows_are_taken_over_when_its_lease_runs_out(
    enrich_hub: Any, crm_sandbox: Any, database_url: str, tmp_path: Any
) -> None:
    hub = enrich_hub(source_timeout="5s", inline_wait=0)
    enrich_hub(source_timeout="2s", inline_wait=0)  # what the doomed process runs on: hub-1.yaml
    await run_pull(hub, "crm_customers")
    vendor = crm_sandbox.state.customers[11]
    created = await create_ticket(hub, TicketCreate(
        subject="打印机卡纸", contact_mobile=digits(vendor["contact"]["mobile"])), actor="test")
    set_faults(crm_sandbox, latency_ms=8000)  # the claimer is stuck in the fetch when killed
    code = ("import asyncio\nfrom pathlib import Path\nfrom hub.runtime import Hub\n"
            "from hub.core.settings import Settings\nfrom hub.enrichment import drain_enrichment\n"
            f"hub = Hub(Settings(database_url={database_url!r}, "
            f"config=Path({str(tmp_path / 'hub-1.yaml')!r}), "
            f"mappings_dir=Path({str(ROOT / 'mappings')!r})))\n"
            "asyncio.run(drain_enrichment(hub, owner='doomed'))\n")
    doomed = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy())
    try:
        def in_flight() -> bool:
            with hub.sessions() as session:
                row = session.get(CustomerSnapshot, ("crm", vendor["id"]))
                return row is not None and row.fetch_owner is not None
        _wait_for(in_flight, "the claimer to start fetching")
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    clear_faults(crm_sandbox)
    task = _task_row(hub, created.id)
    assert (task.lease_owner, task.attempts) == ("doomed", 1)

    assert (await drain_enrichment(hub)).claimed == 0  # its lease still holds
    later = datetime.now(UTC) + timedelta(minutes=5)
    result = await drain_enrichment(hub, now=later)
    assert (result.claimed, result.enriched) == (1, 1)
    ticket = get_ticket(hub, created.id)
    assert ticket.enrichment_status == "enriched" and ticket.sources[0].attempt == 2
    assert _task_row(hub, created.id).status == "done"


def _task_row(hub: Hub, ticket_id: int) -> EnrichmentTask:
    with hub.sessions() as session:
        return session.scalars(select(EnrichmentTask).where(
            EnrichmentTask.ticket_id == ticket_id)).one()


async def test_drain__cancelled_hands_its_unsettled_rows_back_at_once(
    enrich_hub: Any, crm_sandbox: Any
) -> None:
    hub = enrich_hub(source_timeout="20s", inline_wait=0)
    await run_pull(hub, "crm_customers")
    vendor = crm_sandbox.state.customers[12]
    created = await create_ticket(hub, TicketCreate(
        subject="屏幕闪烁", contact_mobile=digits(vendor["contact"]["mobile"])), actor="test")
    set_faults(crm_sandbox, latency_ms=5000)
    drain = asyncio.create_task(drain_enrichment(hub, owner="stopping"))
    async with asyncio.timeout(30):
        while _task_row(hub, created.id).lease_owner != "stopping":
            await asyncio.sleep(0.02)
    drain.cancel()
    with pytest.raises(asyncio.CancelledError):
        await drain
    task = _task_row(hub, created.id)
    assert (task.status, task.lease_owner, task.attempts) == ("pending", None, 0)
    clear_faults(crm_sandbox)
    assert (await drain_enrichment(hub)).claimed == 1


def test_claim__rows_of_resolved_or_closed_tickets_leave_the_queue(enrich_hub: Any) -> None:
    """A ticket finished before its enrichment ran is owed nothing: its row is settled, not
    claimed and retried (its agent has moved on)."""
    from hub.store.models import Ticket

    hub = enrich_hub()
    open_id, resolved_id, closed_id = _insert(hub, 3)
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        session.get_one(Ticket, resolved_id).status = "resolved"
        session.get_one(Ticket, closed_id).status = "closed"
    with hub.sessions.begin() as session:
        claimed = claim(session, owner="a", limit=10, now=now, lease=LEASE)
    assert [c.ticket_id for c in claimed] == [open_id]
    with hub.sessions() as session:
        rows = {r.ticket_id: r for r in session.scalars(select(EnrichmentTask))}
        assert depth(session, now) == {"pending": 0, "in_flight": 1, "done": 2, "failed": 0}
    assert rows[resolved_id].status == rows[closed_id].status == "done"
    assert "resolved or closed" in (rows[resolved_id].last_error or "")
