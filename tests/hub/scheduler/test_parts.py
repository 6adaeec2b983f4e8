"""Pulls read in parts: every record exactly once, the cursor moving only with the data, a
stalled worker's part taken over, a failing part retried and the run failed without a gap."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hub.jobs import parts
from hub.runtime import Hub
from hub.store.models import Customer, ExternalRecord, Run, RunSlice, SyncState
from hub.sync import JobBusyError, drain, open_run, plan_run, run_pull

PARTS = """\
customers:
  kind: pull
  connection: crm
  stream: customers
  mapping: crm_customer
  concurrency: 4
  slices: 8
"""


def _count(hub: Hub, model: Any) -> int:
    with hub.sessions() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


async def test_parts_read_at_once_store_every_record_exactly_once(
        jobs_hub: Callable[..., Hub], crm_sandbox: Any) -> None:
    hub = jobs_hub(PARTS, page_size=7)
    summary = await run_pull(hub, "customers")
    assert (summary.status, summary.read, summary.created, summary.slices) == (
        "succeeded", 120, 120, 8)
    assert _count(hub, Customer) == _count(hub, ExternalRecord) == 120
    newest = max(c["updated_at"] for c in crm_sandbox.state.customers)
    with hub.sessions() as session:
        assert session.get_one(SyncState, "customers").state == newest
        done = session.scalars(sa.select(RunSlice)).all()
    assert sorted(p.seq for p in done) == list(range(8))
    assert {p.status for p in done} == {"done"} and sum(p.read for p in done) == 120

    crm_sandbox.state.update_customer("C000003", {"name": "新名字"})
    again = await run_pull(hub, "customers")
    assert (again.updated, again.created) == (1, 0) and again.read < 10


async def test_changes_during_a_run_are_never_lost(
        jobs_hub: Callable[..., Hub], crm_sandbox: Any) -> None:
    hub = jobs_hub(PARTS, page_size=5)
    httpx.post(f"{crm_sandbox.url}/_sandbox/faults",
               json={"count": 0, "latency_ms": 30}).raise_for_status()
    pulling = asyncio.create_task(run_pull(hub, "customers"))
    changed = []
    for n in range(1, 40, 4):  # customers change while their parts are being read
        await asyncio.sleep(0.05)
        changed.append(crm_sandbox.state.update_customer(f"C{n:06d}", {"name": f"改{n}"}))
    await pulling
    httpx.delete(f"{crm_sandbox.url}/_sandbox/faults").raise_for_status()
    await run_pull(hub, "customers")
    with hub.sessions() as session:
        names = dict(session.execute(sa.select(Customer.external_id, Customer.name)).all())
    assert len(names) == 120
    assert all(names[c["id"]] == c["name"] for c in changed)


async def test_a_stalled_worker_s_part_is_taken_over_and_its_late_page_refused(
        jobs_hub: Callable[..., Hub]) -> None:
    hub = jobs_hub(PARTS)
    run_id = open_run(hub, "customers", trigger="manual")
    await plan_run(hub, run_id)
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        mine = parts.claim(session, run_id, owner="a", worker="a", ttl=1, now=now)
    assert mine is not None
    later = now + timedelta(seconds=2)  # "a" stalled past its lease
    with hub.sessions.begin() as session:
        theirs = parts.claim(session, run_id, owner="b", worker="b", ttl=30, now=later)
    assert theirs is not None and theirs.id == mine.id and theirs.attempts == 2
    with pytest.raises(parts.LeaseLostError), hub.sessions.begin() as session:
        parts.locked(session, mine.id, owner="a")
    with hub.sessions.begin() as session:
        assert parts.locked(session, mine.id, owner="b").lease_owner == "b"


async def test_a_job_runs_once_at_a_time(jobs_hub: Callable[..., Hub]) -> None:
    hub = jobs_hub(PARTS)
    open_run(hub, "customers", trigger="schedule")
    with pytest.raises(JobBusyError, match="running already"):
        open_run(hub, "customers", trigger="manual")


async def test_a_failing_part_is_retried_then_the_run_fails_keeping_the_cursor_behind_it(
        jobs_hub: Callable[..., Hub], crm_sandbox: Any) -> None:
    hub = jobs_hub(PARTS.replace("  slices: 8\n", "  slices: 8\n  retry: {attempts: 2, "
                                 "backoff_initial: 0.05, backoff_max: 0.05}\n"
                                 ).replace("concurrency: 4", "concurrency: 1"),
                   max_attempts=1)  # no HTTP-layer retries: their backoff took 25 s here
    run_id = open_run(hub, "customers", trigger="manual")
    await plan_run(hub, run_id)
    # Then every request fails: the part's first attempt and its second too.
    httpx.post(f"{crm_sandbox.url}/_sandbox/faults",
               json={"status": 503, "count": 1000}).raise_for_status()
    closed = await drain(hub, run_id)
    assert closed is not None and closed.status == "failed"
    assert closed.error is not None and "8 of 8 parts failed after retries" in closed.error
    httpx.delete(f"{crm_sandbox.url}/_sandbox/faults").raise_for_status()
    with hub.sessions() as session:
        run = session.scalars(sa.select(Run)).one()
        failed = session.scalars(sa.select(RunSlice).where(RunSlice.status == "failed")).all()
        assert run.status == "failed" and failed and all(p.attempts == 2 for p in failed)
        assert session.get(SyncState, "customers") is None  # nothing complete: no cursor
    summary = await run_pull(hub, "customers")
    assert summary.status == "succeeded" and _count(hub, Customer) == 120


async def test_a_run_past_its_timeout_stops_at_a_checkpoint_and_the_next_resumes(
        jobs_hub: Callable[..., Hub], crm_sandbox: Any) -> None:
    hub = jobs_hub(PARTS.replace("  slices: 8\n", "  slices: 8\n  timeout: 1s\n"),
                   page_size=5)
    # 24 pages of 400 ms, 4 at a time: the run cannot finish within its second.
    httpx.post(f"{crm_sandbox.url}/_sandbox/faults",
               json={"count": 0, "latency_ms": 400}).raise_for_status()
    first = await run_pull(hub, "customers")
    assert first.status == "interrupted" and "timed out after 1s" in (first.error or "")
    stored = _count(hub, Customer)
    assert 0 < stored < 120
    httpx.delete(f"{crm_sandbox.url}/_sandbox/faults").raise_for_status()
    # The next run, on the same store, without the timeout: however loaded the machine,
    # it resumes from the checkpoints and finishes.
    second = await run_pull(jobs_hub(PARTS, page_size=5), "customers")
    assert second.status == "succeeded" and _count(hub, Customer) == 120
    assert second.created == 120 - stored  # nothing stored twice
