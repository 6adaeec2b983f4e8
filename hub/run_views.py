"""Configured jobs and their runs, as the API and CLI list them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from .errors import NotFoundError
from .jsonable import UtcDatetime
from .pages import Page, decode_cursor, filter_text, page_of
from .runtime import Hub
from .store.models import Run

__all__ = ["JobPublic", "RunDetail", "RunPublic", "get_run", "list_jobs", "list_runs"]

_RUN_EXAMPLE: dict[str, Any] = {
    "id": 17, "job": "crm_customers", "kind": "pull", "trigger": "schedule",
    "status": "succeeded", "started_at": "2026-11-23T09:00:00Z",
    "finished_at": "2026-11-23T09:00:04Z", "duration_ms": 4210, "pages": 3, "read": 512,
    "created": 12, "updated": 30, "unchanged": 470, "rejected": 0, "skipped": 0,
    "retries": 1, "mapping": "crm_customer@1", "error": None,
}


class JobPublic(BaseModel):
    """A job of hub.yaml and how its last run went."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "crm_customers", "kind": "pull", "connection": "crm",
        "description": "Customers changed in the CRM since the last run",
        "last_run_id": 17, "last_status": "succeeded",
        "last_started_at": "2026-11-23T09:00:00Z", "last_finished_at": "2026-11-23T09:00:04Z"}]})

    name: str
    kind: str = Field(description="pull, enrich or writeback.")
    connection: str
    description: str | None
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
    def fields_of(cls, row: Run) -> dict[str, Any]:
        return {name: getattr(row, name) for name in cls.model_fields}

    @classmethod
    def of(cls, row: Run) -> RunPublic:
        return cls(**cls.fields_of(row))


class RunDetail(RunPublic):
    """A run with the records it rejected and why (at most the first hundred)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_RUN_EXAMPLE, "budget_wait_ms": 0, "host": "hub-1",
        "errors": [{"key": "C00077", "message": "mobile: '12' is not a mobile number"}]}]})

    budget_wait_ms: int
    host: str | None
    errors: list[dict[str, Any]]

    @classmethod
    def of(cls, row: Run) -> RunDetail:
        errors = (row.errors or {}).get("records") or []
        return cls(**RunPublic.fields_of(row), budget_wait_ms=row.budget_wait_ms or 0,
                   host=row.host, errors=[e if isinstance(e, dict) else {"message": str(e)}
                                          for e in errors])


def list_jobs(hub: Hub) -> list[JobPublic]:
    jobs = hub.config.hub.jobs
    with hub.sessions() as session:
        latest = select(Run.job, func.max(Run.id).label("id")).group_by(Run.job).subquery()
        runs = {run.job: run for run in session.scalars(
            select(Run).join(latest, Run.id == latest.c.id))}
        return [JobPublic(name=name, kind=job.kind, connection=job.connection,
                          description=job.description,
                          last_run_id=runs[name].id if name in runs else None,
                          last_status=runs[name].status if name in runs else None,
                          last_started_at=runs[name].started_at if name in runs else None,
                          last_finished_at=runs[name].finished_at if name in runs else None)
                for name, job in jobs.items()]


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
        return page_of("run", rows, limit, key=lambda r: r.id, view=RunPublic.of)


def get_run(hub: Hub, run_id: int) -> RunDetail:
    with hub.sessions() as session:
        row = session.get(Run, run_id)
        if row is None:
            raise NotFoundError(f"no run {run_id}")
        return RunDetail.of(row)
