"""Run one job of hub.yaml, whatever its kind, under the job's lease: the code every
executor calls (the scheduler's asyncio loop, a Celery worker, `hub jobs trigger --here`).

- pull: `hub.sync.run_pull` (parts, checkpoints, the cursor moving with the data);
- writeback: the outbox dispatcher sends what is due (every write-back job shares the lease
  `outbox`: one dispatcher at a time is enough, and rows are leased one by one anyway);
- enrich: the enrichment queue's due tickets (new ones, and partial ones to retry);
- import: every file matching the job's glob not imported yet through its mapping;
- notify: the rules that read the clock, and pending asynchronous sends.
"""

from __future__ import annotations

import asyncio
import glob
import logging
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.core import tracing
from hub.core.logs import log_context
from hub.core.owners import worker_id
from hub.jobs.runs import finish_run, start_run

from ..audit import AuditEntry
from ..config import (
    EnrichJob,
    ImportJob,
    JobSpec,
    KfSyncJob,
    NotifyJob,
    PullJob,
    WritebackJob,
)
from ..errors import JobFailedError, NotFoundError
from ..jobs import leases
from ..runtime import Hub
from ..sync import JobBusyError, run_pull

__all__ = ["OUTBOX_LEASE", "JobOutcome", "job_spec", "lease_name", "run_job"]

log = logging.getLogger("hub.scheduler")

OUTBOX_LEASE = "outbox"


@dataclass(frozen=True, slots=True)
class JobOutcome:
    job: str
    run_id: int | None
    status: str
    detail: dict[str, Any]


def job_spec(hub: Hub, name: str) -> JobSpec:
    job = hub.config.hub.jobs.get(name)
    if job is None:
        known = ", ".join(sorted(hub.config.hub.jobs)) or "none"
        raise NotFoundError(f"no job '{name}'; defined: {known}")
    return job


def lease_name(name: str, job: JobSpec) -> str:
    """The lease a job's runs hold: its own name, or the outbox's for write-backs."""
    return OUTBOX_LEASE if isinstance(job, WritebackJob) else name


async def run_job(hub: Hub, name: str, *, trigger: str = "manual",
                  stop: asyncio.Event | None = None) -> JobOutcome:
    """Run job `name` once, to its end (or until `stop` is set: the run stops at its next
    checkpoint). Raises JobBusyError when it runs elsewhere, JobFailedError on failure.
    A write-back or enrichment job with nothing owed records no run ("idle")."""
    job = job_spec(hub, name)
    with log_context(job=name, trigger=trigger):
        if _idle(hub, job):
            return JobOutcome(name, None, "idle", {})
        with tracing.span("job.run", **{"hub.job": name, "hub.kind": job.kind,
                                        "hub.trigger": trigger}):
            return await _run_job(hub, name, job, trigger=trigger, stop=stop)


def _idle(hub: Hub, job: JobSpec) -> bool:
    """Nothing owed: a write-back or enrichment pass would only record an empty run."""
    if isinstance(job, WritebackJob):
        from ..outbox.store import has_pending

        with hub.sessions() as session:
            return not has_pending(session)
    if isinstance(job, EnrichJob):
        from ..enrichment.queue import depth

        with hub.sessions() as session:
            counts = depth(session, _now())
        return counts.get("pending", 0) == 0
    return False


async def _run_job(hub: Hub, name: str, job: JobSpec, *, trigger: str,
                   stop: asyncio.Event | None) -> JobOutcome:
    if isinstance(job, PullJob):
        summary = await run_pull(hub, name, trigger=trigger, stop=stop)
        return JobOutcome(name, summary.run_id, summary.status,
                          {"read": summary.read, "created": summary.created,
                           "updated": summary.updated, "rejected": summary.rejected})
    lease = lease_name(name, job)
    owner = worker_id()
    ttl = hub.settings.job_lease_seconds
    with hub.sessions.begin() as session:
        if not leases.acquire(session, lease, owner=owner, ttl=ttl, now=_now()):
            raise JobBusyError(f"job '{name}' is running already (lease '{lease}' is held)")
    keeper = asyncio.create_task(_keep(hub, lease, owner, ttl))
    try:
        return await _run_kind(hub, name, job, trigger=trigger, stop=stop)
    finally:
        keeper.cancel()
        with hub.sessions.begin() as session:
            leases.release(session, lease, owner=owner, now=_now())


def _now() -> datetime:
    return datetime.now(UTC)


async def _keep(hub: Hub, lease: str, owner: str, ttl: float) -> None:
    while True:
        await asyncio.sleep(ttl / 3)
        with hub.sessions.begin() as session:
            if not leases.renew(session, lease, owner=owner, ttl=ttl, now=_now()):
                log.warning("lost the lease '%s' while running", lease)


async def _run_kind(hub: Hub, name: str, job: JobSpec, *, trigger: str,
                    stop: asyncio.Event | None) -> JobOutcome:
    if isinstance(job, WritebackJob):
        return await _dispatch(hub, name, job, trigger=trigger, stop=stop)
    if isinstance(job, EnrichJob):
        return await _recorded(hub, name, "enrich", trigger, _enrich(hub, job))
    if isinstance(job, ImportJob):
        return await _recorded(hub, name, "import", trigger, _import(hub, name, job, stop))
    if isinstance(job, NotifyJob):
        from ..notify.engine import check_overdue

        summary = await check_overdue(hub, actor=f"job:{name}")
        return JobOutcome(name, summary.run_id, "succeeded", _counts(summary))
    if isinstance(job, KfSyncJob):
        return await _recorded(hub, name, "kf_sync", trigger, _kf_sync(hub, name, job))
    raise NotFoundError(f"job '{name}' has no runner")


async def _kf_sync(hub: Hub, name: str, job: KfSyncJob) -> dict[str, Any]:
    from ..tickets.kf import sync_connection

    results = await sync_connection(hub, job.connection, actor=f"job:{name}",
                                    accounts=job.accounts)
    return {"rows": sum(r.stored for r in results),
            "skipped": sum(r.duplicates for r in results), "accounts": len(results),
            "pages": sum(r.pages for r in results),
            "tickets_opened": sum(len(r.opened) for r in results)}


async def _dispatch(hub: Hub, name: str, job: WritebackJob, *, trigger: str,
                    stop: asyncio.Event | None) -> JobOutcome:
    from ..outbox.dispatcher import Dispatcher, DispatchOptions

    # One dispatcher sends every write-back job's rows: as many at once as the most
    # concurrent of them allows.
    concurrency = max((j.concurrency for j in hub.config.hub.jobs.values()
                       if isinstance(j, WritebackJob)), default=job.concurrency)
    dispatcher = Dispatcher(hub, options=DispatchOptions(mode="due", concurrency=concurrency),
                            trigger=trigger)
    watcher = asyncio.create_task(_stop_when(stop, dispatcher.stop)) if stop else None
    try:
        summary = await dispatcher.run()
    finally:
        if watcher:
            watcher.cancel()
    return JobOutcome(name, summary.run_id, summary.status,
                      {"done": summary.done, "retried": summary.retried, "dead": summary.dead})


async def _stop_when(stop: asyncio.Event, action: Any) -> None:
    await stop.wait()
    action()


async def _enrich(hub: Hub, job: EnrichJob) -> dict[str, Any]:
    from ..enrichment import drain_enrichment
    from ..notify.engine import evaluate_enriched

    total: dict[str, int] = {}
    while True:
        result = await drain_enrichment(hub, limit=100, concurrency=job.concurrency,
                                        then=evaluate_enriched)
        counts = _counts(result)
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
        if counts.get("claimed", 0) < 100:
            return total


async def _import(hub: Hub, name: str, job: ImportJob,
                  stop: asyncio.Event | None) -> dict[str, Any]:
    from ..importer.pipeline import ImportOptions, run_import

    files = sorted((Path(p) for p in glob.glob(job.path) if Path(p).is_file()),
                   key=lambda p: p.stat().st_mtime)
    done: dict[str, Any] = {"files": 0, "imported": 0, "already": 0, "rows": 0,
                            "rejected": 0, "imports": []}
    for path in files:
        if stop is not None and stop.is_set():
            break
        summary = await run_import(hub, path, mapping=job.mapping,
                                   options=ImportOptions(sheet=job.sheet),
                                   actor=f"job:{name}")
        done["files"] += 1
        if summary.duplicate_of is not None:
            done["already"] += 1
            continue
        done["imported"] += 1
        done["rows"] += summary.read
        done["rejected"] += summary.rejected
        done["imports"].append(summary.id)
    return done


async def _recorded(hub: Hub, name: str, kind: str, trigger: str, work: Any) -> JobOutcome:
    """Run `work` as a run of its own in the run history, with its counts."""
    with hub.sessions.begin() as session:
        run_id = start_run(session, job=name, kind=kind, trigger=trigger).id
    status, error, detail = "succeeded", None, {}
    try:
        detail = await work
    except BaseException as exc:
        status = "failed" if isinstance(exc, Exception) else "interrupted"
        error = str(exc) or type(exc).__name__
        raise
    finally:
        _close(hub, run_id, name, status, error, detail)
    if status == "failed":
        raise JobFailedError(f"job '{name}' failed (run {run_id}): {error}")
    return JobOutcome(name, run_id, status, detail)


def _close(hub: Hub, run_id: int, name: str, status: str, error: str | None,
           detail: dict[str, Any]) -> None:
    from ..store.models import Run

    with hub.sessions.begin() as session:
        run = session.get_one(Run, run_id)
        run.read = int(detail.get("claimed", detail.get("rows", 0)) or 0)
        run.updated = int(detail.get("enriched", 0) or 0)
        run.rejected = int(detail.get("failed", detail.get("rejected", 0)) or 0)
        run.skipped = int(detail.get("already", detail.get("skipped", 0)) or 0)
        if status == "succeeded" and (detail.get("partial") or detail.get("rejected")):
            status = "partial"
        finish_run(run, status=status, error=error)
        hub.audit.append(session, [AuditEntry(
            f"job:{name}", "job.run", f"run:{run_id}", outcome=status,
            detail={k: v for k, v in detail.items() if isinstance(v, int | str)})])


def _counts(result: Any) -> dict[str, int]:
    if is_dataclass(result):
        return {f.name: getattr(result, f.name) for f in fields(result)
                if isinstance(getattr(result, f.name), int)}
    return {}
