"""Resetting a pull job's cursor and full refreshes, against the CRM sandbox on real stores:
the next run reads the whole stream (or from the cursor given), nothing stored is lost or
doubled, a running job is never reset under it, and every reset is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from hub.core.owners import worker_id
from hub.errors import InvalidRequestError, NotFoundError
from hub.jobs import leases
from hub.runtime import Hub
from hub.store.models import AuditRecord, Customer, SyncState
from hub.sync import JobBusyError, open_run, reset_state, run_pull


def _state(hub: Hub) -> str | None:
    with hub.sessions() as session:
        row = session.get(SyncState, "crm_customers")
        return row.state if row is not None else None


def _resets(hub: Hub) -> list[tuple[str, dict[str, Any]]]:
    with hub.sessions() as session:
        rows = session.execute(sa.select(AuditRecord.actor, AuditRecord.detail).where(
            AuditRecord.action == "job.reset").order_by(AuditRecord.seq)).all()
    return [(actor, detail if isinstance(detail, dict) else json.loads(detail))
            for actor, detail in rows]


def _customer_count(hub: Hub) -> int:
    with hub.sessions() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Customer)) or 0)


async def test_reset__the_next_run_reads_the_whole_stream_again(hub: Hub,
                                                               crm_sandbox: Any) -> None:
    first = await run_pull(hub, "crm_customers")
    cursor = _state(hub)
    assert first.created == 120 and cursor
    assert (await run_pull(hub, "crm_customers")).read < 120  # incremental: little or nothing

    reset = reset_state(hub, "crm_customers", to=None, actor="cli:ops")
    assert (reset.cursor_before, reset.cursor_after) == (cursor, None) and _state(hub) is None
    again = await run_pull(hub, "crm_customers")
    assert (again.read, again.created, again.unchanged) == (120, 0, 120)  # nothing doubled
    assert _customer_count(hub) == 120 and _state(hub) == cursor
    assert _resets(hub) == [("cli:ops", {"cursor_before": cursor, "cursor_after": None})]


async def test_reset__to_a_cursor_reads_from_there(hub: Hub, crm_sandbox: Any) -> None:
    await run_pull(hub, "crm_customers")
    stamps = sorted(c["updated_at"] for c in crm_sandbox.state.customers)
    middle = stamps[60]
    reset = reset_state(hub, "crm_customers", to=middle, actor="cli:ops")
    assert reset.cursor_after == middle and _state(hub) == middle
    summary = await run_pull(hub, "crm_customers")
    later = sum(1 for stamp in stamps if stamp > middle)
    assert later <= summary.read <= later + stamps.count(middle)  # from the cursor on
    assert 0 < summary.read < 120 and summary.created == 0


async def test_full_refresh__forgets_the_cursor_as_the_run_starts(hub: Hub,
                                                                 crm_sandbox: Any) -> None:
    await run_pull(hub, "crm_customers")
    cursor = _state(hub)
    summary = await run_pull(hub, "crm_customers", full_refresh=True, actor="cli:ops")
    assert (summary.read, summary.unchanged) == (120, 120) and _state(hub) == cursor
    [(actor, detail)] = _resets(hub)
    assert actor == "cli:ops" and detail == {"cursor_before": cursor, "cursor_after": None,
                                             "full_refresh": True}


async def test_reset__refused_while_a_run_holds_the_job(hub: Hub, crm_sandbox: Any) -> None:
    await run_pull(hub, "crm_customers")
    cursor = _state(hub)
    run_id = open_run(hub, "crm_customers", trigger="manual")  # a run under way, this process
    with pytest.raises(JobBusyError, match=rf"running \(run {run_id}.*reset it once"):
        reset_state(hub, "crm_customers", to=None, actor="cli:ops")
    with pytest.raises(JobBusyError, match="running already"):
        await run_pull(hub, "crm_customers", full_refresh=True)
    assert _state(hub) == cursor and _resets(hub) == []  # nothing changed, nothing audited


async def test_reset__gives_the_lease_back(hub: Hub, crm_sandbox: Any) -> None:
    reset_state(hub, "crm_customers", to=None, actor="cli:ops")  # no state yet: still audited
    with hub.sessions() as session:
        assert leases.holder(session, "crm_customers", now=datetime.now(UTC)) is None
        assert leases.acquire(session, "crm_customers", owner=worker_id(), ttl=5,
                              now=datetime.now(UTC))
    assert (await run_pull(hub, "crm_customers")).created == 120
    assert _resets(hub) == [("cli:ops", {"cursor_before": None, "cursor_after": None})]


def test_reset__unknown_jobs_other_kinds_and_blank_cursors_are_refused(hub: Hub) -> None:
    with pytest.raises(NotFoundError, match="no job 'crm_customer'; defined: .*crm_customers"):
        reset_state(hub, "crm_customer", to=None, actor="cli:ops")
    with pytest.raises(InvalidRequestError, match="not a pull job"):
        reset_state(hub, "sla_clock", to=None, actor="cli:ops")
    with pytest.raises(InvalidRequestError, match="needs a cursor value"):
        reset_state(hub, "crm_customers", to="  ", actor="cli:ops")
    assert _resets(hub) == []
