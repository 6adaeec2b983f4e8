"""/runs: how each run of a job went."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from hub.api.admission import admitted_router
from hub.api.deps import HubDep, RowId
from hub.core.pages import DEFAULT_LIMIT, MAX_LIMIT, Page
from hub.jobs.run_queries import RunDetail, RunPublic, get_run, list_runs

router = admitted_router("runs", tags=["runs"])


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
