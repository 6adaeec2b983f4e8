"""How a pull commits a page: its records mapped, upserted and audited, in one transaction
with the part's new checkpoint, and the job's cursor moved as far as the data goes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.audit import AuditEntry
from hub.config import PullJob
from hub.config.jobs import PULL_KEYS
from hub.customers.history import HistoryUpsertResult, linked_customers
from hub.customers.store import upsert_external_records
from hub.enrichment import enqueue_customer_changed
from hub.ingest.targets import pull_target
from hub.jobs.runs import MAX_RECORDED_ERRORS, MAX_WARNINGS
from hub.mapping import CompiledMapping, FieldError, LookupTables, RecordMappingError
from hub.store.models import RunSlice, SyncState

__all__ = ["advance_job_state", "page_commits_async", "store_batch"]

log = logging.getLogger("hub.sync")


def _now() -> datetime:
    return datetime.now(UTC)


def page_commits_async(session: Session) -> None:
    """PostgreSQL may acknowledge this page's commit before its WAL reaches the disk.

    Safe for a page of a pull: its records and its part's checkpoint commit together, so a
    server crash that loses the last moments of commits loses both, and the page is read
    again (nothing is written to the vendor). The workers then queue less on the audit
    chain's head row, whose lock each commit holds until the commit returns.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


def store_batch(session: Session, job: PullJob, mapping: CompiledMapping,
                part: RunSlice, records: list[dict[str, Any]], *, key: str, actor: str,
                lookups: LookupTables | None, warnings: Sequence[str] = ()
                ) -> list[AuditEntry]:
    """Store a page of records; the audit entries of the changes it made (for the caller
    to append last in the transaction). `warnings`: what the connector noted reading the
    page (a listing that may have stopped early), kept on the part and so on the run."""
    entities, errors = [], list((part.errors or {}).get("records", []))
    keys = PULL_KEYS[job.target]
    for index, record in enumerate(records):
        row = record.get(key, f"#{part.read + index + 1}")
        try:
            entity = mapping(record, row=row, lookups=lookups)
            if entity is None:
                part.skipped += 1
                continue
            _check_keys(entity, keys, job, row)
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
    noted = _noted(part, warnings)
    if errors or noted:
        part.errors = {"records": errors, **({"warnings": noted} if noted else {})}
    return audit


def _check_keys(entity: dict[str, Any], keys: Sequence[str], job: PullJob, row: Any) -> None:
    """A record without a field its target is matched or linked on is rejected alone (the
    mapping may leave it optional), never failing the page it came in."""
    missing = [name for name in keys
               if entity.get(name) is None or not str(entity[name]).strip()]
    if missing:
        raise RecordMappingError([FieldError(
            job.mapping, name, None, row, f"is empty: the {job.target} are matched and linked "
            f"on {', '.join(keys)} (mark it `required: true` in the mapping)", rule="required")
            for name in missing])


def _noted(part: RunSlice, warnings: Sequence[str]) -> list[str]:
    noted = list((part.errors or {}).get("warnings") or [])
    for warning in warnings:
        if warning not in noted and len(noted) < MAX_WARNINGS:
            log.warning("%s", warning)
            noted.append(str(warning))
    return noted


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
    elif isinstance(result, HistoryUpsertResult) and (result.created or result.updated):
        # ... and from their changed history, for those of them pulled already.
        enqueue_customer_changed(session, linked_customers(
            session, source=job.connection, external_ids=list(result.customers())), now=_now())
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


def advance_job_state(session: Session, job: str, run_id: int, row: RunSlice) -> None:
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


def _save_state(session: Session, job: str, state: str | None) -> None:
    row = session.get(SyncState, job)
    now = _now()
    if row is None:
        session.add(SyncState(job=job, state=state, updated_at=now))
    elif state is not None:
        row.state, row.updated_at = state, now
