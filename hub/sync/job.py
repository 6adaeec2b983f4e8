"""A pull job by name, and who holds it: what opening a run and resetting the job's state
both need before they change anything."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.config import PullJob
from hub.errors import ConflictError, InvalidRequestError, NotFoundError
from hub.jobs import leases
from hub.jobs.runs import process_alive
from hub.runtime import Hub
from hub.store.models import Run

__all__ = ["JobBusyError", "busy_message", "holder_died", "pull_job"]


class JobBusyError(ConflictError):
    """The job is running already (its lease is held)."""


def pull_job(hub: Hub, name: str) -> PullJob:
    job = hub.config.hub.jobs.get(name)
    if job is None:
        known = ", ".join(sorted(hub.config.hub.jobs)) or "none"
        raise NotFoundError(f"no job '{name}'; defined: {known}")
    if not isinstance(job, PullJob):
        raise InvalidRequestError(f"job '{name}' is a {job.kind} job, not a pull job")
    return job


def holder_died(session: Session, holder: leases.Holder) -> bool:
    """The lease's holder is a run whose process is gone (same host, pid dead)."""
    run = session.get(Run, holder.run_id) if holder.run_id is not None else None
    return run is not None and run.pid is not None and not process_alive(run.pid, run.host)


def busy_message(session: Session, name: str, holder: leases.Holder | None, *,
                 doing: str = "run") -> str:
    """Why the job cannot be run (or reset) now: the run that holds it."""
    if holder is None:
        held = "its lease was taken meanwhile"
    else:
        run = session.get(Run, holder.run_id) if holder.run_id is not None else None
        if run is None:
            held = f"lease held by {holder.owner}"
        else:
            where = f" on {run.host}" + (f", pid {run.pid}" if run.pid else "")
            held = f"run {run.id}, started {run.started_at:%Y-%m-%d %H:%M:%S}{where}"
    if doing == "run":
        return f"job '{name}' is running already ({held}); it runs once at a time"
    return f"job '{name}' is running ({held}); {doing} it once the run has ended"
