"""Job leases: at most one run of a job at a time, across processes and machines.

A lease is a row per job naming its holder and when it runs out. Taking it is one guarded
UPDATE (or, for a job never run, an INSERT that a racing twin loses on the primary key), so
of two schedulers firing the same job at the same moment exactly one wins, on SQLite and on
PostgreSQL alike. Whoever works on the run renews it; a holder that dies (kill -9, a lost
machine) stops renewing, and once the lease runs out the job can run again, resuming what
the dead run left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.core.time import as_utc

from ..store.leasing import LeaseColumns, lease_free
from ..store.models import JobLease

__all__ = ["Holder", "acquire", "hand_over", "holder", "release", "renew", "run_owner", "take_over"]

_LEASE = LeaseColumns(JobLease.owner, JobLease.expires_at)


@dataclass(frozen=True, slots=True)
class Holder:
    owner: str
    run_id: int | None
    expires_at: datetime


def run_owner(run_id: int) -> str:
    """The lease owner of a run: every worker reading a part of run N renews as `run:N`."""
    return f"run:{run_id}"


def acquire(session: Session, job: str, *, owner: str, ttl: float, now: datetime,
            run_id: int | None = None) -> bool:
    """Take `job`'s lease for `owner` if it is free, expired or already `owner`'s."""
    expires = now + timedelta(seconds=ttl)
    taken = _count(session.execute(
        update(JobLease)
        .where(JobLease.job == job, or_(_LEASE.free(now), _LEASE.held_by(owner)))
        .values(owner=owner, run_id=run_id, acquired_at=now, expires_at=expires)
        .execution_options(synchronize_session=False)
    ))
    if taken:
        return True
    if session.get(JobLease, job) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(JobLease(job=job, owner=owner, run_id=run_id, acquired_at=now,
                                 expires_at=expires))
    except IntegrityError:
        return False  # another scheduler inserted it first
    return True


def hand_over(session: Session, job: str, *, owner: str, to: str, run_id: int) -> None:
    """Pass a lease just taken to the run it was taken for (owner `run:N`)."""
    session.execute(update(JobLease).where(JobLease.job == job, JobLease.owner == owner)
                    .values(owner=to, run_id=run_id)
                    .execution_options(synchronize_session=False))


def take_over(session: Session, job: str, *, owner: str, ttl: float, now: datetime) -> None:
    """Take the lease whoever holds it: only when its holder is known to be dead."""
    session.execute(update(JobLease).where(JobLease.job == job)
                    .values(owner=owner, run_id=None, acquired_at=now,
                            expires_at=now + timedelta(seconds=ttl))
                    .execution_options(synchronize_session=False))


def renew(session: Session, job: str, *, owner: str, ttl: float, now: datetime) -> bool:
    """Push the lease's end out; False when `owner` no longer holds it."""
    return bool(_count(session.execute(
        update(JobLease).where(JobLease.job == job, _LEASE.held_by(owner))
        .values(_LEASE.renewed(now + timedelta(seconds=ttl)))
        .execution_options(synchronize_session=False)
    )))


def release(session: Session, job: str, *, owner: str, now: datetime) -> None:
    """Give the lease up at once (it stays as a row, expired)."""
    session.execute(update(JobLease).where(JobLease.job == job, JobLease.owner == owner)
                    .values(expires_at=now)
                    .execution_options(synchronize_session=False))


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0))


def holder(session: Session, job: str, *, now: datetime) -> Holder | None:
    """Who holds `job`'s lease now (None: nobody, or it ran out)."""
    row = session.scalars(select(JobLease).where(JobLease.job == job)).one_or_none()
    if row is None or lease_free(row.expires_at, now=now):
        return None
    return Holder(row.owner, row.run_id, as_utc(row.expires_at))
