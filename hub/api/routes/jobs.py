"""/jobs: what hub.yaml configures to run, and pausing, resuming or triggering a job."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict

from hub.api.admission import admitted_router
from hub.api.deps import ActorDep, HubDep
from hub.core.pages import DEFAULT_LIMIT, MAX_LIMIT, Page
from hub.core.time import UtcDatetime
from hub.scheduler.control import pause, request_run, resume
from hub.scheduler.views import JobPublic, list_jobs

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


@router.post("/{name}/trigger", status_code=202, responses=_NO_JOB)
def trigger_job(name: JobName, hub: HubDep, actor: ActorDep) -> JobControl:
    """Ask the scheduler for a run of the job at its next tick (paused or not); the run
    shows up in `GET /runs?job=…`."""
    requested: datetime = request_run(hub, name, actor=actor)
    return JobControl(job=name, changed=True, requested_at=requested)
