"""Runs of the jobs, as the API and CLI list them (the jobs themselves: hub.scheduler.views)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from hub.core.pages import Page, decode_cursor, filter_text, page_of
from hub.core.time import UtcDatetime
from hub.errors import NotFoundError
from hub.jobs.parts import COUNTS
from hub.jobs.runs import RunStatus
from hub.runtime import Hub
from hub.store.models import Run, RunSlice

__all__ = ["RunDetail", "RunPublic", "get_run", "list_runs"]

_RUN_EXAMPLE: dict[str, Any] = {
    "id": 17, "job": "crm_customers", "kind": "pull", "trigger": "schedule",
    "status": "succeeded", "started_at": "2026-11-23T09:00:00Z",
    "finished_at": "2026-11-23T09:00:04Z", "duration_ms": 4210, "pages": 3, "read": 512,
    "created": 12, "updated": 30, "unchanged": 470, "rejected": 0, "skipped": 0,
    "retries": 1, "mapping": "crm_customer@1", "error": None,
}


class RunPublic(BaseModel):
    """One execution of a job, with its counts."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RUN_EXAMPLE]})

    id: int
    job: str
    kind: str
    trigger: str
    status: RunStatus
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
    warnings: list[str] = Field(default_factory=list, description=(
        "What the connector noted while reading, e.g. a listing that ended on a full first "
        "page with no next page (the API may page only when asked): records may be missing."))

    @classmethod
    def of(cls, row: Run, live: dict[str, int] | None = None) -> RunDetail:
        errors = (row.errors or {}).get("records") or []
        return cls(**RunPublic.fields_of(row, live),
                   budget_wait_ms=(live or {}).get("budget_wait_ms", row.budget_wait_ms or 0),
                   host=row.host, errors=[e if isinstance(e, dict) else {"message": str(e)}
                                          for e in errors],
                   warnings=[str(w) for w in (row.errors or {}).get("warnings") or []])


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
