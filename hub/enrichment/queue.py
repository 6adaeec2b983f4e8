"""The enrichment queue's operations: enqueue with the ticket event, claim under a lease,
settle.

Every function runs inside the caller's transaction. A ticket has at most one row; each new
event re-arms it (due now, a fresh retry budget) and takes the lease from whoever holds it,
so an enrichment that started before the event cannot record stale data over the newer one:
settling checks the lease is still ours. A claim counts the attempt and leases the row to
one process; a process that dies (kill -9) simply never settles, and when the lease runs out
the row is claimable again. A row keeps the W3C traceparent of the event that queued it
(tracing on), so the enrichment continues that ticket's trace wherever it runs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from ..core import tracing
from ..store.leasing import LeaseColumns
from ..store.models import TERMINAL_TICKET_STATUSES, EnrichmentTask, Ticket
from .cache import mark_stale

__all__ = ["REASONS", "Claimed", "claim", "claim_ticket", "depth", "enqueue",
           "enqueue_customer_changed", "release", "settle"]

REASONS = ("created", "customer_changed", "requested")  # requested: by hand, `enrich_ticket`
_LEASE = LeaseColumns(EnrichmentTask.lease_owner, EnrichmentTask.lease_until)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A queue row leased to this process."""

    id: int
    ticket_id: int
    reason: str
    attempts: int  # this attempt included
    traceparent: str | None = None  # the trace of the event that queued it (tracing on)


def enqueue(session: Session, ticket_id: int, *, reason: str, now: datetime) -> None:
    """Owe `ticket_id` an enrichment, due now, in the caller's transaction."""
    if reason not in REASONS:
        raise ValueError(f"unknown enrichment reason '{reason}'; known: {', '.join(REASONS)}")
    row = session.scalars(select(EnrichmentTask).where(
        EnrichmentTask.ticket_id == ticket_id)).one_or_none()
    if row is None:
        row = EnrichmentTask(ticket_id=ticket_id, created_at=now)
        session.add(row)
    row.reason, row.status, row.due_at, row.attempts = reason, "pending", now, 0
    _LEASE.clear(row)  # an enrichment in flight loses: it is stale
    row.last_error, row.updated_at = None, now
    row.traceparent = tracing.traceparent()  # the newest event's trace goes on
    session.flush()


def enqueue_customer_changed(session: Session, customer_ids: Collection[int], *,
                             now: datetime) -> int:
    """The customers changed: their cached history is stale, and each of their open tickets
    is owed a new enrichment. Returns how many tickets were enqueued."""
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    mark_stale(session, ids, now=now)
    tickets = 0
    for start in range(0, len(ids), 500):
        for ticket_id in session.scalars(select(Ticket.id).where(
                Ticket.customer_id.in_(ids[start:start + 500]),
                Ticket.status.not_in(TERMINAL_TICKET_STATUSES)).order_by(Ticket.id)):
            enqueue(session, ticket_id, reason="customer_changed", now=now)
            tickets += 1
    return tickets


def _take(session: Session, rows: Sequence[EnrichmentTask], *, owner: str, now: datetime,
          lease: timedelta) -> list[Claimed]:
    taken = []
    for row in rows:
        _LEASE.take(row, owner, now + lease)
        row.attempts += 1
        row.updated_at = now
        taken.append(Claimed(row.id, row.ticket_id, row.reason, row.attempts,
                             row.traceparent))
    session.flush()
    return taken


def claim(session: Session, *, owner: str, limit: int, now: datetime,
          lease: timedelta) -> list[Claimed]:
    """Lease up to `limit` due rows to `owner`, the longest waiting first. Rows of tickets
    resolved or closed since they were queued leave the queue first: a finished ticket is
    owed nothing (its next event, a reopening's change of customer, queues it again)."""
    if limit <= 0:
        return []
    _drop_finished(session, now)
    query = select(EnrichmentTask).where(
        EnrichmentTask.status == "pending", EnrichmentTask.due_at <= now, _LEASE.free(now),
    ).order_by(EnrichmentTask.due_at, EnrichmentTask.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return _take(session, session.scalars(query).all(), owner=owner, now=now, lease=lease)


def _drop_finished(session: Session, now: datetime) -> None:
    finished = exists().where(Ticket.id == EnrichmentTask.ticket_id,
                              Ticket.status.in_(TERMINAL_TICKET_STATUSES))
    session.execute(update(EnrichmentTask).where(
        EnrichmentTask.status == "pending", _LEASE.free(now), finished,
    ).values(status="done", updated_at=now,
             last_error="the ticket was resolved or closed: nothing owed"),
        execution_options={"synchronize_session": False})


def claim_ticket(session: Session, ticket_id: int, *, owner: str, now: datetime,
                 lease: timedelta) -> Claimed | None:
    """Lease the row of one ticket if it is pending and free (due or not): None when
    another process holds it or nothing is owed."""
    query = select(EnrichmentTask).where(
        EnrichmentTask.ticket_id == ticket_id, EnrichmentTask.status == "pending",
        _LEASE.free(now))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    taken = _take(session, session.scalars(query).all(), owner=owner, now=now, lease=lease)
    return taken[0] if taken else None


def _ours(row_id: int, owner: str) -> Any:
    return and_(EnrichmentTask.id == row_id, _LEASE.held_by(owner),
                EnrichmentTask.status == "pending")


def release(session: Session, row_id: int, *, owner: str, now: datetime) -> bool:
    """Give the lease back unfinished, the attempt uncounted: claimable again at once."""
    changed = session.execute(update(EnrichmentTask).where(_ours(row_id, owner)).values(
        **_LEASE.cleared(), attempts=EnrichmentTask.attempts - 1,
        due_at=now, updated_at=now), execution_options={"synchronize_session": False})
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def settle(session: Session, row_id: int, *, owner: str, error: str | None,
           retry_at: datetime | None, now: datetime) -> bool:
    """Record the attempt: done (`retry_at` None, no error), due again at `retry_at`, or
    failed (an error and no `retry_at`: the budget is spent). False when the lease was lost
    meanwhile; the caller then rolls back what it meant to write."""
    values: dict[str, Any] = {"last_error": error, **_LEASE.cleared(), "updated_at": now}
    if retry_at is not None:
        values["due_at"] = retry_at
    else:
        values["status"] = "failed" if error else "done"
    changed = session.execute(update(EnrichmentTask).where(_ours(row_id, owner)).values(
        **values), execution_options={"synchronize_session": False})
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def depth(session: Session, now: datetime) -> dict[str, int]:
    """Rows per state: pending (due or waiting), in_flight (leased), done, failed."""
    counts = {status: int(count) for status, count in session.execute(
        select(EnrichmentTask.status, func.count()).group_by(EnrichmentTask.status))}
    in_flight = session.scalar(select(func.count()).where(and_(
        EnrichmentTask.status == "pending", _LEASE.held(now)))) or 0
    return {"pending": counts.get("pending", 0) - in_flight, "in_flight": in_flight,
            "done": counts.get("done", 0), "failed": counts.get("failed", 0)}
