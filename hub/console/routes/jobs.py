"""Jobs and runs: the timetable, next run, pause/resume/trigger; a run's progress while it
runs (the page polls a JSON endpoint) and the records it rejected."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.core.pages import MAX_ID
from hub.errors import InvalidRequestError, NotFoundError
from hub.jobs.run_queries import get_run, list_runs
from hub.scheduler.control import pause, request_run, resume
from hub.scheduler.views import list_jobs

from ..auth import User
from ..web import SECURITY_HEADERS, admitted, blocking, console_of, masked, redirect, render

__all__ = ["routes"]

PAGE_SIZE = 50
RUN_STATUSES = ("running", "succeeded", "partial", "failed", "interrupted")


@admitted("jobs:read")
async def jobs(request: Request, user: User) -> Response:
    cursor = request.query_params.get("cursor") or None
    page = await blocking(list_jobs, console_of(request).hub, cursor=cursor, limit=PAGE_SIZE)
    return render(request, "jobs.html", jobs=masked(user, page, request)["items"],
                  next_cursor=page.next_cursor, may_control=user.may("jobs:write"),
                  may_see_runs=user.may("runs:read"),
                  changed=request.query_params.get("changed", ""))


def _job_name(request: Request) -> str:
    name: str = request.path_params["name"]
    if not 1 <= len(name) <= 100:
        raise NotFoundError(f"no job {name[:100]}")
    return name


@admitted("jobs:write")
async def trigger(request: Request, user: User) -> Response:
    """Ask the scheduler for a run now; then the job's runs, waiting for the new one."""
    name = _job_name(request)
    hub = console_of(request).hub
    latest = await blocking(list_runs, hub, job=name, limit=1)
    await blocking(request_run, hub, name, actor=user.actor)
    after = latest.items[0].id if latest.items else 0
    return redirect(request, f"/runs?job={quote(name)}&after={after}")


@admitted("jobs:write")
async def pause_job(request: Request, user: User) -> Response:
    name = _job_name(request)
    await blocking(pause, console_of(request).hub, name, actor=user.actor)
    return redirect(request, f"/jobs?changed={quote(name)}")


@admitted("jobs:write")
async def resume_job(request: Request, user: User) -> Response:
    name = _job_name(request)
    await blocking(resume, console_of(request).hub, name, actor=user.actor)
    return redirect(request, f"/jobs?changed={quote(name)}")


def _after(request: Request) -> int | None:
    text = request.query_params.get("after", "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise InvalidRequestError("after: a run id")
    return int(text)


@admitted("runs:read")
async def runs(request: Request, user: User) -> Response:
    job = request.query_params.get("job", "").strip()[:100]
    status = request.query_params.get("status", "").strip()
    if status and status not in RUN_STATUSES:
        raise InvalidRequestError(f"status: one of {', '.join(RUN_STATUSES)}")
    cursor = request.query_params.get("cursor") or None
    page = await blocking(list_runs, console_of(request).hub, job=job or None,
                          status=status or None, cursor=cursor, limit=PAGE_SIZE)
    after = _after(request)
    return render(request, "runs.html", runs=masked(user, page, request)["items"],
                  next_cursor=page.next_cursor, filters={"job": job, "status": status},
                  statuses=RUN_STATUSES, first_page=cursor is None, after=after,
                  waiting=after is not None and job != "" and not any(
                      run.id > after for run in page.items))


@admitted("runs:read")
async def newest_run(request: Request, user: User) -> Response:  # noqa: ARG001
    """JSON for the page waiting on a triggered run: the job's newest run after `after`."""
    job = request.query_params.get("job", "").strip()[:100]
    after = _after(request) or 0
    page = await blocking(list_runs, console_of(request).hub, job=job or None, limit=1)
    newest = page.items[0] if page.items and page.items[0].id > after else None
    return JSONResponse({"run_id": newest.id if newest else None}, headers=SECURITY_HEADERS)


def _run_id(request: Request) -> int:
    run_id: int = request.path_params["run_id"]
    if not 1 <= run_id <= MAX_ID:
        raise NotFoundError(f"no run {run_id}")
    return run_id


@admitted("runs:read")
async def run(request: Request, user: User) -> Response:
    detail = await blocking(get_run, console_of(request).hub, _run_id(request))
    return render(request, "run.html", run=masked(user, detail, request))


@admitted("runs:read")
async def run_progress(request: Request, user: User) -> Response:  # noqa: ARG001
    """JSON the run page polls while the run is under way: its status and counts so far."""
    detail = await blocking(get_run, console_of(request).hub, _run_id(request))
    counts = {name: getattr(detail, name) for name in (
        "pages", "read", "created", "updated", "unchanged", "rejected", "skipped", "retries")}
    return JSONResponse({"status": detail.status, "finished": detail.finished_at is not None,
                         "counts": counts}, headers=SECURITY_HEADERS)


routes = [
    Route("/jobs", jobs, methods=["GET"]),
    Route("/jobs/{name}/trigger", trigger, methods=["POST"]),
    Route("/jobs/{name}/pause", pause_job, methods=["POST"]),
    Route("/jobs/{name}/resume", resume_job, methods=["POST"]),
    Route("/runs", runs, methods=["GET"]),
    Route("/runs/newest.json", newest_run, methods=["GET"]),
    Route("/runs/{run_id:int}", run, methods=["GET"]),
    Route("/runs/{run_id:int}/progress.json", run_progress, methods=["GET"]),
]
