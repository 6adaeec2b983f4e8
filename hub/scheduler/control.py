"""Operators' controls: pause and resume a job's timetable, or ask for a run now."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..audit import AuditEntry
from ..runtime import Hub
from ..store.models import JobSchedule
from .run import job_spec
from .scheduler import first_due

__all__ = ["pause", "request_run", "resume"]


def _row(session: Session, hub: Hub, name: str, now: datetime) -> JobSchedule:
    job = job_spec(hub, name)  # NotFoundError naming the jobs there are
    row = session.get(JobSchedule, name, with_for_update=True)
    if row is None:
        spec = job.schedule
        try:
            with session.begin_nested():
                session.add(JobSchedule(job=name, paused=False,
                                        schedule=spec.describe() if spec else None,
                                        next_due_at=first_due(spec, now), updated_at=now))
        except IntegrityError:
            pass  # the scheduler added it at the same moment
        row = session.get_one(JobSchedule, name, with_for_update=True)
    return row


def pause(hub: Hub, name: str, *, actor: str) -> bool:
    """Stop the job's timetable (a run under way finishes); False if it was paused."""
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        row = _row(session, hub, name, now)
        if row.paused:
            return False
        row.paused, row.paused_by, row.paused_at, row.updated_at = True, actor, now, now
        hub.audit.append(session, [AuditEntry(actor, "job.pause", f"job:{name}")])
        return True


def resume(hub: Hub, name: str, *, actor: str) -> bool:
    """Start the timetable again from now (missed times are not made up); False if it
    was not paused."""
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        row = _row(session, hub, name, now)
        if not row.paused:
            return False
        spec = job_spec(hub, name).schedule
        row.paused, row.paused_by, row.paused_at, row.updated_at = False, None, None, now
        row.next_due_at = first_due(spec, now)
        hub.audit.append(session, [AuditEntry(actor, "job.resume", f"job:{name}")])
        return True


def request_run(hub: Hub, name: str, *, actor: str) -> datetime:
    """Ask the scheduler to run the job at its next tick (paused or not); a request made
    while one is pending is the same request."""
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        row = _row(session, hub, name, now)
        if row.trigger_requested_at is None:
            row.trigger_requested_at, row.trigger_requested_by = now, actor
            row.updated_at = now
            hub.audit.append(session, [AuditEntry(actor, "job.trigger", f"job:{name}")])
        return row.trigger_requested_at
