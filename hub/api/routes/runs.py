"""/jobs and /runs: what is configured to run, and how each run went."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from hub.api.deps import HubDep
from hub.pages import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, Page
from hub.run_views import JobPublic, RunDetail, RunPublic, get_run, list_jobs, list_runs

router = APIRouter(tags=["runs"])

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
def run(run_id: Annotated[int, Path(ge=1, le=MAX_ID)], hub: HubDep) -> RunDetail:
    return get_run(hub, run_id)
