"""Pull jobs: stream → mapping → upsert, the state committed with each page of records."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from connectors.sdk import ConnectorError

from .audit import AuditEntry
from .config import PullJob
from .customers import upsert_customers, upsert_external_records
from .errors import InvalidRequestError, JobFailedError, NotFoundError
from .kb.store import upsert_articles
from .lookups import resolve_lookups
from .mapping import CompiledMapping, LookupTables, RecordMappingError
from .runs import MAX_RECORDED_ERRORS, finish_run, mark_dead_runs, start_run
from .runtime import Hub
from .store.models import Run, SyncState

__all__ = ["RunSummary", "run_pull"]

log = logging.getLogger("hub.sync")

Progress = Callable[["RunSummary"], None]


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

    @classmethod
    def of(cls, run: Run) -> RunSummary:
        return cls(run_id=run.id, job=run.job, status=run.status, pages=run.pages,
                   read=run.read, created=run.created, updated=run.updated,
                   unchanged=run.unchanged, rejected=run.rejected, skipped=run.skipped,
                   retries=run.retries,
                   budget_wait_ms=run.budget_wait_ms, duration_ms=run.duration_ms,
                   error=run.error)


def _pull_job(hub: Hub, name: str) -> PullJob:
    job = hub.config.hub.jobs.get(name)
    if job is None:
        known = ", ".join(sorted(hub.config.hub.jobs)) or "none"
        raise NotFoundError(f"no job '{name}'; defined: {known}")
    if not isinstance(job, PullJob):
        raise InvalidRequestError(f"job '{name}' is a {job.kind} job, not a pull job")
    return job


async def run_pull(hub: Hub, name: str, *, trigger: str = "manual",
                   progress: Progress | None = None) -> RunSummary:
    """Run pull job `name` to the end of its stream; raises JobFailedError if it fails."""
    job = _pull_job(hub, name)
    mapping = hub.mappings.get(job.mapping)
    actor = f"job:{name}"
    with hub.sessions.begin() as session:
        mark_dead_runs(session, name)
        run = start_run(session, job=name, kind="pull", trigger=trigger)
        run.mapping = mapping.label
        session.flush()
        run_id = run.id
        state_row = session.get(SyncState, name)
        state = state_row.state if state_row else None
    connector = hub.connector(job.connection, actor=actor)
    stream = connector.stream(job.stream)
    status, error = "succeeded", None
    try:
        async with connector:
            async for batch in stream.batches(state):
                lookups = await resolve_lookups(hub, mapping, batch.records, actor=actor)
                with hub.sessions.begin() as session:
                    run = session.get_one(Run, run_id)
                    _store_batch(hub, session, job, mapping, run, batch.records,
                                 key=stream.primary_key, actor=actor, lookups=lookups)
                    run.retries = connector.http.stats.retries
                    run.budget_wait_ms = int(connector.http.stats.budget_wait_s * 1000)
                    _save_state(session, name, batch.state)
                    summary = RunSummary.of(run)
                if progress:
                    progress(summary)
    except ConnectorError as exc:
        status, error = "failed", str(exc)
    except BaseException:
        status, error = "interrupted", "stopped before the end of the stream"
        _finish(hub, run_id, status, error, actor)
        raise
    summary = _finish(hub, run_id, status, error, actor)
    if status == "failed":
        raise JobFailedError(f"job '{name}' failed (run {run_id}): {error}")
    return summary


def _store_batch(hub: Hub, session: Session, job: PullJob, mapping: CompiledMapping, run: Run,
                 records: list[dict[str, Any]], *, key: str, actor: str,
                 lookups: LookupTables | None) -> None:
    entities, errors = [], list((run.errors or {}).get("records", []))
    for index, record in enumerate(records):
        row = record.get(key, f"#{run.read + index + 1}")
        try:
            entity = mapping(record, row=row, lookups=lookups)
            if entity is None:
                run.skipped += 1
            else:
                entities.append(entity)
        except RecordMappingError as exc:
            run.rejected += 1
            if len(errors) < MAX_RECORDED_ERRORS:
                errors.append({"record": str(row), "error": str(exc)})
    upsert_external_records(session, source=job.connection, stream=job.stream, key=key,
                            records=records)
    _store_entities(hub, session, job, mapping, run, entities, actor=actor)
    run.pages += 1
    run.read += len(records)
    if errors:
        run.errors = {"records": errors}


# Pull-job target → its upsert and the entity name its audit rows use.
_TARGETS: dict[str, tuple[Callable[..., Any], str]] = {
    "customers": (upsert_customers, "customer"),
    "articles": (upsert_articles, "article"),
}


def _store_entities(hub: Hub, session: Session, job: PullJob, mapping: CompiledMapping,
                    run: Run, entities: list[dict[str, Any]], *, actor: str) -> None:
    upsert, entity = _TARGETS[job.target]
    result = upsert(session, job.connection, entities, mapping=mapping.label)
    hub.audit.append(session, [
        *(AuditEntry(actor, f"{entity}.create", f"{entity}:{row.id}",
                     detail={"source": row.source, "external_id": row.external_id,
                             "mapping": mapping.label})
          for row in result.created),
        *(AuditEntry(actor, f"{entity}.update", f"{entity}:{row.id}",
                     detail={"source": row.source, "external_id": row.external_id,
                             "fields": changed, "mapping": mapping.label})
          for row, changed in result.updated),
    ])
    run.created += len(result.created)
    run.updated += len(result.updated)
    run.unchanged += result.unchanged


def _save_state(session: Session, job: str, state: str | None) -> None:
    row = session.get(SyncState, job)
    now = datetime.now(UTC)
    if row is None:
        session.add(SyncState(job=job, state=state, updated_at=now))
    elif state is not None:
        row.state, row.updated_at = state, now


def _finish(hub: Hub, run_id: int, status: str, error: str | None, actor: str) -> RunSummary:
    with hub.sessions.begin() as session:
        run = session.get_one(Run, run_id)
        if status == "succeeded" and run.rejected:
            status = "partial"
        finish_run(run, status=status, error=error)
        hub.audit.append(session, [AuditEntry(
            actor, "job.run", f"run:{run_id}", outcome=status,
            detail={"read": run.read, "created": run.created, "updated": run.updated,
                    "unchanged": run.unchanged, "rejected": run.rejected,
                    "skipped": run.skipped, "pages": run.pages, "mapping": run.mapping,
                    "error": error},
        )])
        return RunSummary.of(run)
