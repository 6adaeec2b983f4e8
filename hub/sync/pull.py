"""Pull jobs: stream → mapping → upsert, in parts that any number of workers share.

A run is planned as parts of the stream (`Stream.slices`: one part unless the job reads
with concurrency); workers claim parts under leases and read them page by page, each page's
records committed with the part's checkpoint, guarded by the lease. The job's state (its
cursor) advances only with data: to the checkpoint of the first unfinished part once every
part before it is done, so a crash anywhere resumes without a gap, and nothing is stored
twice (the upserts match on the source's keys and skip unchanged content).

The same functions run a pull in the foreground (`hub sync run`), on the scheduler's
asyncio executor, and on Celery workers (`hub worker`): `open_run` takes the job's lease and
records the run, `plan_run` splits it, `drain` reads parts until none is left to claim, and
the worker that finishes the last part closes the run. Here: the run's life (open, plan,
drain, close); the page reader is reader.py, a page's commit page.py, the counts summary.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.sdk import ConnectorError
from hub.audit import AuditEntry
from hub.config import PullJob
from hub.core import tracing
from hub.core.owners import worker_id
from hub.errors import JobFailedError
from hub.jobs import leases, parts
from hub.jobs.runs import finish_run, start_run
from hub.runtime import Hub
from hub.store.models import Run, RunSlice, SyncState

from .job import JobBusyError, busy_message, holder_died, pull_job
from .reader import PartReader
from .reset import replace_state
from .summary import Progress, RunSummary, absorb_counts

__all__ = ["close_if_complete", "drain", "interrupt", "open_run", "plan_run", "run_pull"]


def _now() -> datetime:
    return datetime.now(UTC)


async def run_pull(hub: Hub, name: str, *, trigger: str = "manual",
                   progress: Progress | None = None,
                   stop: asyncio.Event | None = None, full_refresh: bool = False,
                   actor: str | None = None) -> RunSummary:
    """Run pull job `name` to the end of its stream in this process, `concurrency` parts at
    once; raises JobBusyError if it runs elsewhere, JobFailedError if it fails.

    `stop` set (a graceful shutdown) ends the run at the next page: the run is recorded as
    interrupted and the next one resumes at the checkpoints. `full_refresh`: from the
    stream's start, whatever the job's state (see `open_run`).
    """
    job = pull_job(hub, name)
    run_id = open_run(hub, name, trigger=trigger, full_refresh=full_refresh, actor=actor)
    with tracing.span("pull.run", **{"hub.job": name, "hub.run_id": run_id,
                                     "hub.trigger": trigger}):
        return await _run(hub, job, name, run_id, progress=progress, stop=stop)


async def _run(hub: Hub, job: PullJob, name: str, run_id: int, *, progress: Progress | None,
               stop: asyncio.Event | None) -> RunSummary:
    try:
        await plan_run(hub, run_id)
        summary = await drain(hub, run_id, concurrency=job.concurrency, progress=progress,
                              stop=stop)
    except BaseException:
        interrupt(hub, run_id, "stopped before the end of the stream")
        raise
    if summary is None:  # stopped (a shutdown) before the last part
        summary = interrupt(hub, run_id, "stopped (shutdown) before the end of the stream; "
                            "the next run resumes from where its parts got to")
    if summary.status == "failed":
        raise JobFailedError(f"job '{name}' failed (run {run_id}): {summary.error}")
    return summary


def open_run(hub: Hub, name: str, *, trigger: str, local: bool = True,
             full_refresh: bool = False, actor: str | None = None) -> int:
    """Take the job's lease and record a new run holding it; raises JobBusyError when the
    job runs elsewhere. Runs of the job left `running` by a holder that died are marked
    interrupted (their data is kept, and the job's state is where their parts got to).

    `local` False: the run is worked by Celery workers, not this process. `full_refresh`:
    the job's state is forgotten as the run opens (audited as `actor`'s `job.reset`), so
    it reads the whole stream — and so does the next run, should this one stop early.
    """
    job = pull_job(hub, name)
    mapping = hub.mappings.get(job.mapping)
    now = _now()
    token = worker_id()
    ttl = hub.settings.job_lease_seconds
    with hub.sessions.begin() as session:
        if not leases.acquire(session, name, owner=token, ttl=ttl, now=now):
            holder = leases.holder(session, name, now=now)
            if holder is not None and not holder_died(session, holder):
                raise JobBusyError(busy_message(session, name, holder))
            # The holder's process is gone (same host, pid dead): take over at once.
            leases.take_over(session, name, owner=token, ttl=ttl, now=now)
        _interrupt_orphans(session, name)
        if full_refresh:  # from the stream's start: the state goes with the run's start
            replace_state(hub, session, name, to=None, actor=actor or f"job:{name}",
                          now=now, full_refresh=True)
        state_row = session.get(SyncState, name)
        run = start_run(session, job=name, kind="pull", trigger=trigger)
        run.mapping = mapping.label
        run.state_before = state_row.state if state_row else None
        run.deadline_at = now + timedelta(seconds=job.timeout) if job.timeout else None
        if not local:
            run.pid = None  # no process of this host owns it: only the lease says who works
        leases.hand_over(session, name, owner=token, to=leases.run_owner(run.id),
                         run_id=run.id)
        return run.id


def _interrupt_orphans(session: Session, job: str) -> None:
    for run in session.scalars(select(Run).where(Run.job == job, Run.status == "running")):
        absorb_counts(session, run)
        finish_run(run, status="interrupted",
                   error=run.error or "its workers stopped before it finished; the next "
                   "run resumed from where its parts got to")
        parts.abandon_pending(session, run.id)


async def plan_run(hub: Hub, run_id: int) -> None:
    """Split the run into parts (asks the connector; once per run)."""
    with hub.sessions() as session:
        run = session.get_one(Run, run_id)
        name, state, planned = run.job, run.state_before, run.slices
    if planned:
        return
    job = pull_job(hub, name)
    connector = hub.connector(job.connection, actor=f"job:{name}")
    try:
        async with connector:
            planned_parts = await connector.stream(job.stream).slices(
                state, count=job.slice_count)
    except ConnectorError as exc:
        _close(hub, run_id, status="failed", error=f"could not plan the read: {exc}")
        raise JobFailedError(f"job '{name}' failed (run {run_id}): {exc}") from exc
    with hub.sessions.begin() as session:
        run = session.get_one(Run, run_id, with_for_update=True)
        if run.slices:
            return  # planned meanwhile by another worker
        parts.add(session, run_id, planned_parts, now=_now())
        run.slices = len(planned_parts)


async def drain(hub: Hub, run_id: int, *, concurrency: int = 1,
                progress: Progress | None = None,
                stop: asyncio.Event | None = None) -> RunSummary | None:
    """Read the run's parts, `concurrency` at once, until none is left for this worker;
    closes the run if its last part is done (returns its summary, else None)."""
    with hub.sessions() as session:
        run = session.get_one(Run, run_id)
        name, deadline = run.job, run.deadline_at
    job = pull_job(hub, name)
    reader = PartReader(hub, job, name, run_id, stop=stop or asyncio.Event(),
                        deadline=deadline, progress=progress)
    heartbeat = asyncio.create_task(reader.heartbeat())
    try:
        await asyncio.gather(*(reader.loop(n) for n in range(concurrency)))
    finally:
        heartbeat.cancel()
    summary = close_if_complete(hub, run_id)
    if summary is None and reader.deadline is not None and _now() >= reader.deadline:
        summary = interrupt(hub, run_id, f"timed out after {job.timeout:g}s; the next run "
                            "resumes from where its parts got to")
    return summary


def close_if_complete(hub: Hub, run_id: int) -> RunSummary | None:
    """Close the run if none of its parts is pending; its summary, else None."""
    with hub.sessions.begin() as session:
        run = session.get_one(Run, run_id, with_for_update=True, populate_existing=True)
        if run.status != "running":
            return RunSummary.of(run)
        if not run.slices or parts.unfinished(session, run_id):
            return None
        failed = session.scalars(select(RunSlice).where(
            RunSlice.run_id == run_id, RunSlice.status == "failed").order_by(RunSlice.seq)
        ).all()
        error = None
        if failed:
            error = (f"{len(failed)} of {run.slices} parts failed after retries; first: "
                     f"{failed[0].error}") if run.slices > 1 else failed[0].error
        return _finish(hub, session, run, "failed" if failed else "succeeded", error)


def interrupt(hub: Hub, run_id: int, reason: str) -> RunSummary:
    """Record the run as stopped before its end and give its lease up: the next run resumes
    where its parts got to."""
    with hub.sessions.begin() as session:
        run = session.get_one(Run, run_id, with_for_update=True, populate_existing=True)
        if run.status != "running":
            return RunSummary.of(run)
        parts.abandon_pending(session, run_id)
        return _finish(hub, session, run, "interrupted", reason)


def _close(hub: Hub, run_id: int, *, status: str, error: str) -> RunSummary:
    with hub.sessions.begin() as session:
        run = session.get_one(Run, run_id, with_for_update=True, populate_existing=True)
        return _finish(hub, session, run, status, error)


def _finish(hub: Hub, session: Session, run: Run, status: str,
            error: str | None) -> RunSummary:
    absorb_counts(session, run)
    if status == "succeeded" and run.rejected:
        status = "partial"
    finish_run(run, status=status, error=error)
    leases.release(session, run.job, owner=leases.run_owner(run.id), now=_now())
    hub.audit.append(session, [AuditEntry(
        f"job:{run.job}", "job.run", f"run:{run.id}", outcome=status,
        detail={"read": run.read, "created": run.created, "updated": run.updated,
                "unchanged": run.unchanged, "rejected": run.rejected,
                "skipped": run.skipped, "pages": run.pages, "slices": run.slices,
                "mapping": run.mapping, "error": error},
    )])
    return RunSummary.of(run)


