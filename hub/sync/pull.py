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
the worker that finishes the last part closes the run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from connectors.sdk import ConnectorError, RetriableError
from hub.audit import AuditEntry
from hub.config import PullJob
from hub.core.logs import log_context
from hub.core.owners import worker_id
from hub.core.time import as_utc_or_none
from hub.customers.store import upsert_external_records
from hub.enrichment import enqueue_customer_changed
from hub.errors import ConflictError, InvalidRequestError, JobFailedError, NotFoundError
from hub.ingest.lookups import resolve_lookups
from hub.ingest.targets import pull_target
from hub.jobs import leases, parts
from hub.jobs.runs import MAX_RECORDED_ERRORS, finish_run, process_alive, start_run
from hub.mapping import CompiledMapping, LookupTables, RecordMappingError
from hub.runtime import Hub
from hub.store.models import Run, RunSlice, SyncState
from hub.store.statistics import analyze_if_stale

__all__ = ["JobBusyError", "RunSummary", "close_if_complete", "drain", "interrupt", "open_run",
           "plan_run", "pull_job", "run_pull"]

log = logging.getLogger("hub.sync")

Progress = Callable[["RunSummary"], None]


class JobBusyError(ConflictError):
    """The job is running already (its lease is held)."""


@dataclass
class RunSummary:
    run_id: int
    job: str
    status: str = "running"
    pages: int = 0
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    retries: int = 0
    budget_wait_ms: int = 0
    duration_ms: int | None = None
    error: str | None = None
    slices: int = 0

    @classmethod
    def of(cls, run: Run) -> RunSummary:
        return cls(run_id=run.id, job=run.job, status=run.status, pages=run.pages,
                   read=run.read, created=run.created, updated=run.updated,
                   unchanged=run.unchanged, rejected=run.rejected, skipped=run.skipped,
                   retries=run.retries,
                   budget_wait_ms=run.budget_wait_ms, duration_ms=run.duration_ms,
                   error=run.error, slices=run.slices)


def pull_job(hub: Hub, name: str) -> PullJob:
    job = hub.config.hub.jobs.get(name)
    if job is None:
        known = ", ".join(sorted(hub.config.hub.jobs)) or "none"
        raise NotFoundError(f"no job '{name}'; defined: {known}")
    if not isinstance(job, PullJob):
        raise InvalidRequestError(f"job '{name}' is a {job.kind} job, not a pull job")
    return job


def _now() -> datetime:
    return datetime.now(UTC)


async def run_pull(hub: Hub, name: str, *, trigger: str = "manual",
                   progress: Progress | None = None,
                   stop: asyncio.Event | None = None) -> RunSummary:
    """Run pull job `name` to the end of its stream in this process, `concurrency` parts at
    once; raises JobBusyError if it runs elsewhere, JobFailedError if it fails.

    `stop` set (a graceful shutdown) ends the run at the next page: the run is recorded as
    interrupted and the next one resumes at the checkpoints.
    """
    job = pull_job(hub, name)
    run_id = open_run(hub, name, trigger=trigger)
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


def open_run(hub: Hub, name: str, *, trigger: str, local: bool = True) -> int:
    """Take the job's lease and record a new run holding it; raises JobBusyError when the
    job runs elsewhere. Runs of the job left `running` by a holder that died are marked
    interrupted (their data is kept, and the job's state is where their parts got to).

    `local` False: the run is worked by Celery workers, not this process.
    """
    job = pull_job(hub, name)
    mapping = hub.mappings.get(job.mapping)
    now = _now()
    token = worker_id()
    ttl = hub.settings.job_lease_seconds
    with hub.sessions.begin() as session:
        if not leases.acquire(session, name, owner=token, ttl=ttl, now=now):
            holder = leases.holder(session, name, now=now)
            if holder is not None and not _holder_died(session, holder):
                raise JobBusyError(
                    f"job '{name}' is running already ({_describe(session, holder)}); "
                    "it runs once at a time")
            # The holder's process is gone (same host, pid dead): take over at once.
            leases.take_over(session, name, owner=token, ttl=ttl, now=now)
        _interrupt_orphans(session, name)
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


def _holder_died(session: Session, holder: leases.Holder) -> bool:
    run = session.get(Run, holder.run_id) if holder.run_id is not None else None
    return run is not None and run.pid is not None and not process_alive(run.pid, run.host)


def _describe(session: Session, holder: leases.Holder) -> str:
    run = session.get(Run, holder.run_id) if holder.run_id is not None else None
    if run is None:
        return f"lease held by {holder.owner}"
    where = f" on {run.host}" + (f", pid {run.pid}" if run.pid else "")
    return f"run {run.id}, started {run.started_at:%Y-%m-%d %H:%M:%S}{where}"


def _interrupt_orphans(session: Session, job: str) -> None:
    for run in session.scalars(select(Run).where(Run.job == job, Run.status == "running")):
        _absorb_counts(session, run)
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
    reader = _Reader(hub, job, name, run_id, stop=stop or asyncio.Event(),
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


class _StopReadingError(Exception):
    """The run is past its deadline, or a graceful stop was asked for."""


class _Reader:
    """The parts this worker reads at once, and the heartbeat that keeps their leases."""

    def __init__(self, hub: Hub, job: PullJob, name: str, run_id: int, *,
                 stop: asyncio.Event, deadline: datetime | None,
                 progress: Progress | None) -> None:
        self.hub, self.job, self.name, self.run_id = hub, job, name, run_id
        self.mapping = hub.mappings.get(job.mapping)
        self.owner = worker_id()
        self.run_owner = leases.run_owner(run_id)
        self.ttl = hub.settings.job_lease_seconds
        self.stop = stop
        self.deadline = as_utc_or_none(deadline)
        self.progress = progress
        self.held: set[int] = set()

    async def heartbeat(self) -> None:
        tables = [pull_target(self.job.target).table, "external_records"]
        while True:
            await asyncio.sleep(min(self.ttl / 3, 10.0))
            now = _now()
            with self.hub.sessions.begin() as session:
                kept = leases.renew(session, self.name, owner=self.run_owner, ttl=self.ttl,
                                    now=now)
                for slice_id in list(self.held):
                    parts.renew(session, slice_id, owner=self.owner, ttl=self.ttl, now=now)
            with self.hub.engine.begin() as connection:  # a big load outruns autovacuum
                analyzed = analyze_if_stale(connection, tables)
            if analyzed:
                log.info("run %s: refreshed the planner's statistics of %s", self.run_id,
                         ", ".join(analyzed))
            if not kept:
                log.warning("run %s lost the lease of job %s: stopping", self.run_id,
                            self.name)
                self.stop.set()

    def _stopping(self) -> bool:
        return self.stop.is_set() or (self.deadline is not None and _now() >= self.deadline)

    async def loop(self, _reader_no: int) -> None:
        while not self._stopping():
            with self.hub.sessions.begin() as session:
                claimed = parts.claim(session, self.run_id, owner=self.owner,
                                      worker=self.owner, ttl=self.ttl, now=_now())
                wait = None if claimed else parts.next_due(session, self.run_id, now=_now())
            if claimed is None:
                if not isinstance(wait, datetime):
                    return  # nothing pending, or every pending part is someone else's
                await self._sleep_until(wait)
                continue
            self.held.add(claimed.id)
            try:
                await self._read(claimed)
            except _StopReadingError:
                self._release(claimed)
                return
            except parts.LeaseLostError as exc:
                log.warning("run %s: %s", self.run_id, exc)
            except (ConnectorError, RecordMappingError) as exc:
                self._failed(claimed, exc)
            except BaseException:
                self._release(claimed)
                raise
            finally:
                self.held.discard(claimed.id)

    async def _sleep_until(self, due: datetime) -> None:
        delay = max(0.05, min((due - _now()).total_seconds(), self.ttl / 3))
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=delay)
        except TimeoutError:
            pass

    async def _read(self, claimed: parts.Claimed) -> None:
        with log_context(run_id=self.run_id, job=self.name, part=claimed.seq):
            log.debug("reading part %s (%s) from %s", claimed.seq, claimed.key,
                      claimed.state or "its start")
            await self._read_part(claimed)

    async def _read_part(self, claimed: parts.Claimed) -> None:
        connector = self.hub.connector(self.job.connection, actor=f"job:{self.name}")
        stream = connector.stream(self.job.stream)
        retries = budget_ms = 0
        async with connector:
            async for batch in stream.read_slice(claimed.part, claimed.state):
                lookups = await resolve_lookups(self.hub, self.mapping, batch.records,
                                                actor=f"job:{self.name}")
                stats = connector.http.stats
                with self.hub.sessions.begin() as session:
                    _page_commits_async(session)
                    row = parts.locked(session, claimed.id, owner=self.owner)
                    audit = _store_batch(session, self.job, self.mapping, row, batch.records,
                                         key=stream.primary_key, actor=f"job:{self.name}",
                                         lookups=lookups)
                    row.retries += stats.retries - retries
                    row.budget_wait_ms += int(stats.budget_wait_s * 1000) - budget_ms
                    retries, budget_ms = stats.retries, int(stats.budget_wait_s * 1000)
                    if batch.state is not None:
                        row.state = batch.state
                        _advance_job_state(session, self.name, self.run_id, row)
                    # Last, so the audit chain's head (one row every writer updates) is
                    # locked only from here to the commit.
                    self.hub.audit.append(session, audit)
                if self.progress:
                    self.progress(_summary(self.hub, self.run_id))
                if self._stopping():
                    raise _StopReadingError
        with self.hub.sessions.begin() as session:
            row = parts.locked(session, claimed.id, owner=self.owner)
            parts.finish(row, now=_now())
            session.flush()
            _advance_job_state(session, self.name, self.run_id, row)

    def _release(self, claimed: parts.Claimed) -> None:
        with self.hub.sessions.begin() as session:
            parts.release(session, claimed.id, owner=self.owner)

    def _failed(self, claimed: parts.Claimed, exc: Exception) -> None:
        retry = self.job.retry
        final = claimed.attempts >= retry.attempts or not isinstance(exc, RetriableError)
        log.warning("run %s part %s (%s) failed, attempt %s of %s: %s", self.run_id,
                    claimed.seq, claimed.key, claimed.attempts, retry.attempts, exc)
        try:
            with self.hub.sessions.begin() as session:
                parts.retry_later(session, claimed.id, owner=self.owner, error=str(exc),
                                  due=_now() + timedelta(
                                      seconds=0 if final else retry.delay(claimed.attempts)),
                                  final=final)
        except parts.LeaseLostError:
            pass


def _advance_job_state(session: Session, job: str, run_id: int, row: RunSlice) -> None:
    """Move the job's cursor as far as the data goes: to the checkpoint of the first part
    not done, once every part before it is done (or, all done, to the last checkpoint)."""
    rows = session.execute(select(RunSlice.seq, RunSlice.status, RunSlice.state)
                           .where(RunSlice.run_id == run_id).order_by(RunSlice.seq)).all()
    state = None
    for seq, status, slice_state in rows:
        if seq == row.seq:
            status, slice_state = row.status, row.state
        if slice_state is not None:
            state = slice_state
        if status != "done":
            break
    if state is not None:
        _save_state(session, job, state)


def _summary(hub: Hub, run_id: int) -> RunSummary:
    with hub.sessions() as session:
        run = session.get_one(Run, run_id)
        if run.status == "running":
            _absorb_counts(session, run)
        return RunSummary.of(run)


def _absorb_counts(session: Session, run: Run) -> None:
    """The run's counts: the sums of its parts' (while running, and when it closes)."""
    rows = session.scalars(select(RunSlice).where(RunSlice.run_id == run.id)).all()
    if not rows:
        return
    for name in parts.COUNTS:
        setattr(run, name, sum(getattr(r, name) for r in rows))
    errors = [e for r in rows for e in ((r.errors or {}).get("records") or [])]
    if errors:
        run.errors = {"records": errors[:MAX_RECORDED_ERRORS]}


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
    _absorb_counts(session, run)
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


def _page_commits_async(session: Session) -> None:
    """PostgreSQL may acknowledge this page's commit before its WAL reaches the disk.

    Safe for a page of a pull: its records and its part's checkpoint commit together, so a
    server crash that loses the last moments of commits loses both, and the page is read
    again (nothing is written to the vendor). The workers then queue less on the audit
    chain's head row, whose lock each commit holds until the commit returns.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


def _store_batch(session: Session, job: PullJob, mapping: CompiledMapping,
                 part: RunSlice, records: list[dict[str, Any]], *, key: str, actor: str,
                 lookups: LookupTables | None) -> list[AuditEntry]:
    """Store a page of records; the audit entries of the changes it made (for the caller
    to append last in the transaction)."""
    entities, errors = [], list((part.errors or {}).get("records", []))
    for index, record in enumerate(records):
        row = record.get(key, f"#{part.read + index + 1}")
        try:
            entity = mapping(record, row=row, lookups=lookups)
            if entity is None:
                part.skipped += 1
            else:
                entities.append(entity)
        except RecordMappingError as exc:
            part.rejected += 1
            if len(errors) < MAX_RECORDED_ERRORS:
                errors.append({"record": str(row), "error": str(exc)})
    upsert_external_records(session, source=job.connection, stream=job.stream, key=key,
                            records=records)
    audit = _store_entities(session, job, mapping, part, entities, actor=actor)
    part.pages += 1
    part.read += len(records)
    if errors:
        part.errors = {"records": errors}
    return audit


def _store_entities(session: Session, job: PullJob, mapping: CompiledMapping,
                    part: RunSlice, entities: list[dict[str, Any]], *,
                    actor: str) -> list[AuditEntry]:
    target = pull_target(job.target)
    assert target.upsert is not None  # pull_target gives only targets a pull can store
    entity = target.name
    result = target.upsert(session, job.connection, entities, mapping=mapping.label)
    if entity == "customer" and result.updated:
        # Their open tickets are enriched again, from the changed profile.
        enqueue_customer_changed(session, [row.id for row, _ in result.updated], now=_now())
    part.created += len(result.created)
    part.updated += len(result.updated)
    part.unchanged += result.unchanged
    return [
        *(AuditEntry(actor, f"{entity}.create", f"{entity}:{row.id}",
                     detail={"source": row.source, "external_id": row.external_id,
                             "mapping": mapping.label})
          for row in result.created),
        *(AuditEntry(actor, f"{entity}.update", f"{entity}:{row.id}",
                     detail={"source": row.source, "external_id": row.external_id,
                             "fields": changed, "mapping": mapping.label})
          for row, changed in result.updated),
    ]


def _save_state(session: Session, job: str, state: str | None) -> None:
    row = session.get(SyncState, job)
    now = _now()
    if row is None:
        session.add(SyncState(job=job, state=state, updated_at=now))
    elif state is not None:
        row.state, row.updated_at = state, now
