"""/jobs and /runs: what is configured to run, and how each run went."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict

from hub.api.deps import ActorDep, HubDep, RowId
from hub.jsonable import UtcDatetime
from hub.pages import DEFAULT_LIMIT, MAX_LIMIT, Page
from hub.run_views import JobPublic, RunDetail, RunPublic, get_run, list_jobs, list_runs
from hub.scheduler.control import pause, request_run, resume

router = APIRouter(tags=["runs"])

JobName = Annotated[str, Path(min_length=1, max_length=100, examples=["crm_customers"])]
_NO_JOB: dict[int | str, dict[str, Any]] = {404: {"description": "No such job in hub.yaml."}}


class JobControl(BaseModel):
    """What a pause, resume or trigger did."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"job": "crm_customers", "changed": True, "requested_at": None}]})

    job: str
    changed: bool
    requested_at: UtcDatetime | None = None

@router.get("/jobs")
def jobs(hub: HubDep) -> list[JobPublic]:
    """The jobs of hub.yaml, each with its last run's status and time."""
    return list_jobs(hub)


@router.get("/runs")
def runs(hub: HubDep,
         job: Annotated[str | None, Query(max_length=100, examples=["crm_customers"])] = None,
         status: Annotated[str | None, Query(max_length=16, description="running, succeeded, "
                                             "partial, failed, interrupted…")] = None,
         cursor: Annotated[str | None, Query(max_length=200)] = None,
         limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT) -> Page[RunPublic]:
    """Runs, newest first."""
    return list_runs(hub, job=job, status=status, cursor=cursor, limit=limit)


@router.get("/runs/{run_id}", responses={404: {"description": "No such run."}})
def run(run_id: RowId, hub: HubDep) -> RunDetail:
    return get_run(hub, run_id)


@router.post("/jobs/{name}/pause", responses=_NO_JOB)
def pause_job(name: JobName, hub: HubDep, actor: ActorDep) -> JobControl:
    """Stop the job's timetable (a run under way finishes); `changed` false: it was paused."""
    return JobControl(job=name, changed=pause(hub, name, actor=actor))


@router.post("/jobs/{name}/resume", responses=_NO_JOB)
def resume_job(name: JobName, hub: HubDep, actor: ActorDep) -> JobControl:
    """Put the job back on its timetable from now (missed times are not made up)."""
    return JobControl(job=name, changed=resume(hub, name, actor=actor))


@router.post("/jobs/{name}/trigger", status_code=202, responses=_NO_JOB)
def trigger_job(name: JobName, hub: HubDep, actor: ActorDep) -> JobControl:
    """Ask the scheduler for a run of the job at its next tick (paused or not); the run
    shows up in `GET /runs?job=…`."""
    requested: datetime = request_run(hub, name, actor=actor)
    return JobControl(job=name, changed=True, requested_at=requested)
