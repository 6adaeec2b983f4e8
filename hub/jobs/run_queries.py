"""Configured jobs and their runs, as the API and CLI list them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from hub.core.pages import Page, decode_cursor, filter_text, page_of
from hub.core.time import UtcDatetime
from hub.errors import NotFoundError
from hub.jobs import leases
from hub.jobs.parts import COUNTS
from hub.runtime import Hub
from hub.scheduler.scheduler import first_due
from hub.store.models import JobSchedule, Run, RunSlice

__all__ = ["JobPublic", "RunDetail", "RunPublic", "get_run", "list_jobs", "list_runs"]

_RUN_EXAMPLE: dict[str, Any] = {
    "id": 17, "job": "crm_customers", "kind": "pull", "trigger": "schedule",
    "status": "succeeded", "started_at": "2026-11-23T09:00:00Z",
    "finished_at": "2026-11-23T09:00:04Z", "duration_ms": 4210, "pages": 3, "read": 512,
    "created": 12, "updated": 30, "unchanged": 470, "rejected": 0, "skipped": 0,
    "retries": 1, "mapping": "crm_customer@1", "error": None,
}


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
    kind: str = Field(description="pull, enrich, writeback, import or notify.")
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
    last_status: str | None
    last_started_at: UtcDatetime | None
    last_finished_at: UtcDatetime | None


class RunPublic(BaseModel):
    """One execution of a job, with its counts."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RUN_EXAMPLE]})

    id: int
    job: str
    kind: str
    trigger: str
    status: str = Field(description="running, succeeded, partial, failed or interrupted.")
    started_at: UtcDatetime
    finished_at: UtcDatetime | None
    duration_ms: int | None
    pages: int
    read: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    skipped: int
    retries: int
    mapping: str | None
    error: str | None

    @classmethod
    def fields_of(cls, row: Run, live: dict[str, int] | None = None) -> dict[str, Any]:
        fields = {name: getattr(row, name) for name in cls.model_fields}
        fields.update((k, v) for k, v in (live or {}).items() if k in fields)
        return fields

    @classmethod
    def of(cls, row: Run, live: dict[str, int] | None = None) -> RunPublic:
        return cls(**cls.fields_of(row, live))


class RunDetail(RunPublic):
    """A run with the records it rejected and why (at most the first hundred)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_RUN_EXAMPLE, "budget_wait_ms": 0, "host": "hub-1",
        "errors": [{"key": "C00077", "message": "mobile: '12' is not a mobile number"}]}]})

    budget_wait_ms: int
    host: str | None
    errors: list[dict[str, Any]]

    @classmethod
    def of(cls, row: Run, live: dict[str, int] | None = None) -> RunDetail:
        errors = (row.errors or {}).get("records") or []
        return cls(**RunPublic.fields_of(row, live),
                   budget_wait_ms=(live or {}).get("budget_wait_ms", row.budget_wait_ms or 0),
                   host=row.host, errors=[e if isinstance(e, dict) else {"message": str(e)}
                                          for e in errors])


def list_jobs(hub: Hub) -> list[JobPublic]:
    from hub.scheduler.run import lease_name

    jobs = hub.config.hub.jobs
    now = datetime.now(UTC)
    with hub.sessions() as session:
        latest = select(Run.job, func.max(Run.id).label("id")).group_by(Run.job).subquery()
        runs = {run.job: run for run in session.scalars(
            select(Run).join(latest, Run.id == latest.c.id))}
        schedules = {row.job: row for row in session.scalars(select(JobSchedule))}
        views = []
        for name, job in jobs.items():
            last, row = runs.get(_run_job_name(name, job.kind), runs.get(name)), \
                schedules.get(name)
            holder = leases.holder(session, lease_name(name, job), now=now)
            paused = bool(row and row.paused)
            next_run = None
            if row is not None and row.trigger_requested_at is not None:
                next_run = row.trigger_requested_at
            elif not paused and job.schedule is not None and job.enabled:
                next_run = row.next_due_at if row is not None and row.next_due_at else \
                    first_due(job.schedule, now)
            views.append(JobPublic(
                name=name, kind=job.kind, connection=getattr(job, "connection", None),
                description=job.description,
                schedule=job.schedule.describe() if job.schedule else None, paused=paused,
                next_run_at=next_run,
                running_run_id=holder.run_id if holder is not None else None,
                last_run_id=last.id if last else None,
                last_status=last.status if last else None,
                last_started_at=last.started_at if last else None,
                last_finished_at=last.finished_at if last else None))
        return views


def _run_job_name(name: str, kind: str) -> str:
    """The job name a kind's runs are recorded under (the outbox and notify passes are
    shared by every job of their kind)."""
    return {"writeback": "outbox", "notify": "notify"}.get(kind, name)


def _live(session: Any, rows: Sequence[Run]) -> dict[int, dict[str, int]]:
    """A running run's counts so far: the sums of its parts' (it adds them up at the end)."""
    running = [row.id for row in rows if row.status == "running" and row.slices]
    if not running:
        return {}
    sums = session.execute(select(RunSlice.run_id, *(func.sum(getattr(RunSlice, name))
                                                      for name in COUNTS))
                           .where(RunSlice.run_id.in_(running)).group_by(RunSlice.run_id))
    return {run_id: dict(zip(COUNTS, (int(v or 0) for v in values), strict=True))
            for run_id, *values in sums}


def list_runs(hub: Hub, *, job: str | None = None, status: str | None = None,
              cursor: str | None = None, limit: int = 50) -> Page[RunPublic]:
    """Runs, newest first."""
    job, status = filter_text("job", job), filter_text("status", status)
    query = select(Run).order_by(Run.id.desc()).limit(limit + 1)
    after = decode_cursor("run", cursor)
    if after is not None:
        query = query.where(Run.id < after)
    if job:
        query = query.where(Run.job == job)
    if status:
        query = query.where(Run.status == status)
    with hub.sessions() as session:
        rows = session.scalars(query).all()
        live = _live(session, rows)
        return page_of("run", rows, limit, key=lambda r: r.id,
                       view=lambda r: RunPublic.of(r, live.get(r.id)))


def get_run(hub: Hub, run_id: int) -> RunDetail:
    with hub.sessions() as session:
        row = session.get(Run, run_id)
        if row is None:
            raise NotFoundError(f"no run {run_id}")
        return RunDetail.of(row, _live(session, [row]).get(row.id))
