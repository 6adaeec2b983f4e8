"""/jobs: what hub.yaml configures to run, and pausing, resuming, triggering a job or
resetting a pull job's cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.api.admission import admitted_router
from hub.api.deps import ActorDep, HubDep
from hub.core.pages import DEFAULT_LIMIT, MAX_LIMIT, Page
from hub.core.time import UtcDatetime
from hub.scheduler.control import pause, request_run, resume
from hub.scheduler.views import JobPublic, list_jobs
from hub.sync import reset_state

router = admitted_router("jobs", prefix="/jobs", tags=["jobs"])

JobName = Annotated[str, Path(min_length=1, max_length=100, examples=["crm_customers"])]
_NO_JOB: dict[int | str, dict[str, Any]] = {404: {"description": "No such job in hub.yaml."}}


class JobControl(BaseModel):
    """What a pause, resume or trigger did."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"job": "crm_customers", "changed": True, "requested_at": None}]})

    job: str
    changed: bool
    requested_at: UtcDatetime | None = None


@router.get("")
def jobs(hub: HubDep,
         cursor: Annotated[str | None, Query(max_length=1000, description="`next_cursor` "
                                             "of the previous page")] = None,
         limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT) -> Page[JobPublic]:
    """The jobs of hub.yaml by name, each with its last run's status and time."""
    return list_jobs(hub, cursor=cursor, limit=limit)


@router.post("/{name}/pause", responses=_NO_JOB)
def pause_job(name: JobName, hub: HubDep, actor: ActorDep) -> JobControl:
    """Stop the job's timetable (a run under way finishes); `changed` false: it was paused."""
    return JobControl(job=name, changed=pause(hub, name, actor=actor))


@router.post("/{name}/resume", responses=_NO_JOB)
def resume_job(name: JobName, hub: HubDep, actor: ActorDep) -> JobControl:
    """Put the job back on its timetable from now (missed times are not made up)."""
    return JobControl(job=name, changed=resume(hub, name, actor=actor))


_BUSY: dict[int | str, dict[str, Any]] = {
    **_NO_JOB, 409: {"description": "The job is running: reset it once the run has ended."}}


@router.post("/{name}/trigger", status_code=202, responses=_BUSY)
def trigger_job(
    name: JobName, hub: HubDep, actor: ActorDep,
    full_refresh: Annotated[bool, Query(description="Forget a pull job's cursor first (as "
                                        "`POST /jobs/{name}/reset` does), so the run reads "
                                        "the whole stream.")] = False,
) -> JobControl:
    """Ask the scheduler for a run of the job at its next tick (paused or not); the run
    shows up in `GET /runs?job=…`."""
    if full_refresh:
        reset_state(hub, name, to=None, actor=actor)
    requested: datetime = request_run(hub, name, actor=actor)
    return JobControl(job=name, changed=True, requested_at=requested)


class CursorReset(BaseModel):
    """Where a pull job's next run starts: `to` a cursor value, or null for the stream's
    start."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"to": None}, {"to": "2026-03-01T00:00:00+08:00"}]})

    to: str | None = Field(default=None, min_length=1, max_length=1000)


class JobReset(BaseModel):
    """What a reset did: the job's cursor before and after (null: none, the whole stream)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"job": "crm_customers", "cursor_before": "2026-11-30T08:00:00+08:00",
         "cursor_after": None}]})

    job: str
    cursor_before: Any
    cursor_after: Any


@router.post("/{name}/reset", responses=_BUSY)
def reset_job(name: JobName, hub: HubDep, actor: ActorDep,
              body: CursorReset | None = None) -> JobReset:
    """Forget a pull job's cursor, so its next run reads the whole stream, or set it to
    `to`; refused (409) while the job runs; audited as `job.reset`. Stored records stay."""
    reset = reset_state(hub, name, to=body.to if body else None, actor=actor)
    return JobReset(job=reset.job, cursor_before=reset.cursor_before,
                    cursor_after=reset.cursor_after)
