"""A run's parts (slices): planned once, claimed under leases by whichever worker is free.

Every function runs inside the caller's transaction. A claim leases the first part that is
due and free (never leased, or its holder stopped renewing) and counts the attempt; the
holder renews the lease while it reads; each page of data commits with the part's new
checkpoint, guarded by the lease, so a worker that lost its part (it stalled past the lease,
and another took over) cannot commit a page the new holder will also commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from connectors.sdk import Slice
from hub.core.time import as_utc
from hub.store.leasing import LeaseColumns, lease_free

from ..store.models import RunSlice

__all__ = ["COUNTS", "Claimed", "LeaseLostError", "abandon_pending", "add", "claim", "finish",
           "locked", "next_due", "release", "renew", "retry_later", "unfinished"]

COUNTS = ("pages", "read", "created", "updated", "unchanged", "rejected", "skipped",
          "retries", "budget_wait_ms")
_LEASE = LeaseColumns(RunSlice.lease_owner, RunSlice.lease_until)


class LeaseLostError(Exception):
    """This worker's lease on a part ran out and another took the part over."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A part leased to this worker, with where to resume it."""

    id: int
    run_id: int
    seq: int
    key: str
    params: dict[str, Any]
    state: str | None
    attempts: int  # this one included

    @property
    def part(self) -> Slice:
        return Slice(self.key, dict(self.params))


def add(session: Session, run_id: int, parts: Sequence[Slice], *, now: datetime) -> None:
    session.add_all(RunSlice(run_id=run_id, seq=seq, key=part.key[:200], params=part.params,
                             status="pending", attempts=0, due_at=now)
                    for seq, part in enumerate(parts))
    session.flush()


def claim(session: Session, run_id: int, *, owner: str, worker: str, ttl: float,
          now: datetime) -> Claimed | None:
    """Lease the first due, free part of the run to `owner`."""
    query = select(RunSlice).where(
        RunSlice.run_id == run_id, RunSlice.status == "pending", RunSlice.due_at <= now,
        _LEASE.free(now)).order_by(RunSlice.seq).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = session.scalars(query).one_or_none()
    if row is None:
        return None
    _LEASE.take(row, owner, now + timedelta(seconds=ttl))
    row.attempts += 1
    row.worker = worker
    row.started_at = row.started_at or now
    session.flush()
    return Claimed(row.id, row.run_id, row.seq, row.key, dict(row.params), row.state,
                   row.attempts)


def locked(session: Session, slice_id: int, *, owner: str) -> RunSlice:
    """The part's row, locked for this page's commit; raises LeaseLostError if it is no
    longer ours."""
    row = session.get(RunSlice, slice_id, with_for_update=True, populate_existing=True)
    if row is None or row.lease_owner != owner or row.status != "pending":
        raise LeaseLostError(f"part {slice_id} was taken over by another worker")
    return row


def renew(session: Session, slice_id: int, *, owner: str, ttl: float, now: datetime) -> bool:
    return bool(getattr(session.execute(
        update(RunSlice).where(_held(slice_id, owner))
        .values(_LEASE.renewed(now + timedelta(seconds=ttl)))
        .execution_options(synchronize_session=False)), "rowcount", 0))


def release(session: Session, slice_id: int, *, owner: str) -> None:
    """Hand an unfinished part back at once (a graceful stop): it resumes at its checkpoint."""
    session.execute(update(RunSlice).where(_held(slice_id, owner)).values(_LEASE.cleared())
                    .execution_options(synchronize_session=False))


def _held(slice_id: int, owner: str) -> Any:
    return and_(RunSlice.id == slice_id, _LEASE.held_by(owner), RunSlice.status == "pending")


def finish(row: RunSlice, *, now: datetime) -> None:
    """Mark a part (locked, ours) done and give its lease up."""
    row.status, row.finished_at = "done", now
    _LEASE.clear(row)


def abandon_pending(session: Session, run_id: int) -> None:
    """The run stops: its unfinished parts are abandoned (the next run plans its own)."""
    session.execute(update(RunSlice).where(RunSlice.run_id == run_id,
                                           RunSlice.status == "pending")
                    .values(status="abandoned", **_LEASE.cleared())
                    .execution_options(synchronize_session=False))


def retry_later(session: Session, slice_id: int, *, owner: str, error: str, due: datetime,
                final: bool) -> None:
    """Record a failed read of the part: due again at `due`, or failed for good."""
    row = locked(session, slice_id, owner=owner)
    row.error = error
    _LEASE.clear(row)
    if final:
        row.status, row.finished_at = "failed", due
    else:
        row.due_at = due


def unfinished(session: Session, run_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(RunSlice).where(
        RunSlice.run_id == run_id, RunSlice.status == "pending")) or 0)


def next_due(session: Session, run_id: int, *, now: datetime) -> datetime | None | bool:
    """When this worker should look again: the earliest due time of a free pending part;
    False when every pending part is leased to another worker (nothing for us to do),
    None when no part is pending."""
    rows = session.execute(select(RunSlice.due_at, RunSlice.lease_until).where(
        RunSlice.run_id == run_id, RunSlice.status == "pending")).all()
    if not rows:
        return None
    free = [due for due, until in rows if lease_free(until, now=now)]
    return min(map(as_utc, free)) if free else False
