"""Configured jobs as the API and CLI list them: timetable, paused or running, last run."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from ..config import JobSpec
from ..core.pages import DEFAULT_LIMIT, Page, decode_name_cursor, page_of
from ..core.time import UtcDatetime
from ..jobs import leases
from ..jobs.runs import RunStatus
from ..runtime import Hub
from ..store.models import JobSchedule, Run
from .run import lease_name
from .scheduler import first_due

__all__ = ["JobPublic", "list_jobs"]


class JobPublic(BaseModel):
    """A job of hub.yaml: its timetable, whether it is paused or running, and how its last
    run went."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "crm_customers", "kind": "pull", "connection": "crm",
        "description": "Customers changed in the CRM since the last run",
        "schedule": "every 15m", "paused": False, "next_run_at": "2026-11-23T09:15:00Z",
        "running_run_id": None, "last_run_id": 17, "last_status": "succeeded",
        "last_started_at": "2026-11-23T09:00:00Z", "last_finished_at": "2026-11-23T09:00:04Z"}]})

    name: str
    kind: str = Field(description="pull, enrich, writeback, import, notify or kf_sync.")
    connection: str | None
    description: str | None
    schedule: str | None = Field(default=None, description="The timetable (`every 15m`, "
                                 "`cron 0 3 * * * Asia/Shanghai`); null: on demand only.")
    paused: bool = False
    next_run_at: UtcDatetime | None = Field(
        default=None, description="When the scheduler next runs it (null: not scheduled, "
        "or paused); a run asked for by hand is due at once.")
    running_run_id: int | None = Field(default=None, description="The run under way, if any.")
    last_run_id: int | None
    last_status: RunStatus | None
    last_started_at: UtcDatetime | None
    last_finished_at: UtcDatetime | None


def list_jobs(hub: Hub, *, cursor: str | None = None,
              limit: int = DEFAULT_LIMIT) -> Page[JobPublic]:
    """The jobs of hub.yaml by name, each with its timetable and last run."""
    jobs = hub.config.hub.jobs
    after = decode_name_cursor("job", cursor)
    names = sorted(name for name in jobs if after is None or name > after)[:limit + 1]
    now = datetime.now(UTC)
    with hub.sessions() as session:
        latest = select(Run.job, func.max(Run.id).label("id")).group_by(Run.job).subquery()
        runs = {run.job: run for run in session.scalars(
            select(Run).join(latest, Run.id == latest.c.id))}
        schedules = {row.job: row for row in session.scalars(select(JobSchedule))}

        def view(name: str) -> JobPublic:
            job = jobs[name]
            last = runs.get(_run_job_name(name, job.kind), runs.get(name))
            holder = leases.holder(session, lease_name(name, job), now=now)
            return _job_view(name, job, schedules.get(name), last=last,
                             running=holder.run_id if holder is not None else None, now=now)

        return page_of("job", names, limit, key=lambda name: name, view=view)


def _job_view(name: str, job: JobSpec, row: JobSchedule | None, *, last: Run | None,
              running: int | None, now: datetime) -> JobPublic:
    paused = bool(row and row.paused)
    next_run = None
    if row is not None and row.trigger_requested_at is not None:
        next_run = row.trigger_requested_at
    elif not paused and job.schedule is not None and job.enabled:
        next_run = row.next_due_at if row is not None and row.next_due_at else \
            first_due(job.schedule, now)
    return JobPublic(
        name=name, kind=job.kind, connection=getattr(job, "connection", None),
        description=job.description,
        schedule=job.schedule.describe() if job.schedule else None, paused=paused,
        next_run_at=next_run, running_run_id=running,
        last_run_id=last.id if last else None, last_status=last.status if last else None,
        last_started_at=last.started_at if last else None,
        last_finished_at=last.finished_at if last else None)


def _run_job_name(name: str, kind: str) -> str:
    """The job name a kind's runs are recorded under (the outbox and notify passes are
    shared by every job of their kind)."""
    return {"writeback": "outbox", "notify": "notify"}.get(kind, name)
