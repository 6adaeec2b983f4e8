"""Sync freshness: for each pull job, when it last succeeded and how far behind it runs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from hub.config import PullJob
from hub.core.time import UtcDatetime, as_utc_or_none
from hub.runtime import Hub
from hub.store.models import JobSchedule, Run, SyncState

from .window import ReportWindow

__all__ = ["JobFreshness", "sync_freshness"]

# A job is stale when its last success is older than this many of its intervals.
STALE_INTERVALS = 2


class JobFreshness(BaseModel):
    """One pull job: its last success, its age, and how late its next run is."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "job": "crm_customers", "connection": "crm", "last_success_at": "2026-12-03T03:45:00Z",
        "age_s": 900.0, "last_run_at": "2026-12-03T03:45:00Z", "last_status": "succeeded",
        "lag_s": 0.0, "interval_s": 900.0, "paused": False,
        "state_updated_at": "2026-12-03T03:45:00Z", "stale": False}]})

    job: str
    connection: str | None = Field(description="null: a job no longer in hub.yaml.")
    last_success_at: UtcDatetime | None
    age_s: float | None = Field(description="Seconds since the last success finished.")
    last_run_at: UtcDatetime | None
    last_status: str | None
    lag_s: float = Field(description="Seconds the job is overdue: now − its next due time "
                                     "(0 when not due yet, paused or unscheduled).")
    interval_s: float | None = Field(description="Its `every` schedule (null: cron or none).")
    paused: bool
    state_updated_at: UtcDatetime | None = Field(description="When its cursor last moved.")
    stale: bool = Field(description=f"Never succeeded, or its last success is older than "
                                    f"{STALE_INTERVALS} intervals (or than its lag).")


def sync_freshness(hub: Hub, window: ReportWindow) -> list[JobFreshness]:
    now = window.now
    pulls = {name: job for name, job in hub.config.hub.jobs.items() if isinstance(job, PullJob)}
    latest_success = select(Run.job, func.max(Run.finished_at)) \
        .where(Run.kind == "pull", Run.status == "succeeded").group_by(Run.job)
    last_ids = select(func.max(Run.id)).where(Run.kind == "pull").group_by(Run.job)
    last_runs = select(Run.job, Run.started_at, Run.status).where(Run.id.in_(last_ids))
    with hub.engine.connect() as connection:
        success = dict(connection.execute(latest_success).all())
        last = {job: (at, status) for job, at, status in connection.execute(last_runs)}
        names = sorted(set(pulls) | set(last))
        schedules = {job: (paused, due) for job, paused, due in connection.execute(
            select(JobSchedule.job, JobSchedule.paused, JobSchedule.next_due_at)
            .where(JobSchedule.job.in_(names)))}
        states = dict(connection.execute(
            select(SyncState.job, SyncState.updated_at).where(SyncState.job.in_(names))).all())
    found = []
    for name in names:
        job = pulls.get(name)
        paused, due = schedules.get(name, (False, None))
        every = job.schedule.every if job is not None and job.schedule is not None else None
        due = as_utc_or_none(due)
        lag = 0.0 if paused or due is None else max(0.0, (now - due).total_seconds())
        succeeded = as_utc_or_none(success.get(name))
        age = None if succeeded is None else max(0.0, (now - succeeded).total_seconds())
        run_at, status = last.get(name, (None, None))
        found.append(JobFreshness(
            job=name, connection=job.connection if job is not None else None,
            last_success_at=succeeded, age_s=_round(age), last_run_at=as_utc_or_none(run_at),
            last_status=status, lag_s=round(lag, 1), interval_s=every, paused=bool(paused),
            state_updated_at=as_utc_or_none(states.get(name)),
            stale=_stale(age, every, lag)))
    return found


def _stale(age: float | None, every: float | None, lag: float) -> bool:
    if age is None:
        return True
    if every is not None:
        return age > STALE_INTERVALS * every
    return lag > 0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)

