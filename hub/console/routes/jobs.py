"""Jobs and runs: the timetable, next run, pause/resume/trigger, a pull job's cursor shown and
reset (after a confirmation step); a run's parts on a timeline and its progress while it
runs (the page polls a JSON endpoint), and the records it rejected."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.core.pages import MAX_ID
from hub.errors import InvalidRequestError, NotFoundError
from hub.jobs.run_parts import RunPart, run_parts
from hub.jobs.run_queries import RunDetail, get_run, list_runs
from hub.scheduler.control import pause, request_run, resume
from hub.scheduler.views import list_jobs
from hub.sync.job import pull_job
from hub.sync.reset import job_cursors, reset_state

from ..auth import User
from ..charts import TimelineBar, timeline
from ..messages import Translator, language_of
from ..web import SECURITY_HEADERS, admitted, blocking, console_of, masked, redirect, render

__all__ = ["routes"]

PAGE_SIZE = 50
RUN_STATUSES = ("running", "succeeded", "partial", "failed", "interrupted")


@admitted("jobs:read")
async def jobs(request: Request, user: User) -> Response:
    cursor = request.query_params.get("cursor") or None
    hub = console_of(request).hub
    page = await blocking(list_jobs, hub, cursor=cursor, limit=PAGE_SIZE)
    pulls = [job.name for job in page.items if job.kind == "pull"]
    cursors = await blocking(job_cursors, hub, pulls)
    return render(request, "jobs.html", jobs=masked(user, page, request)["items"],
                  next_cursor=page.next_cursor, may_control=user.may("jobs:write"),
                  may_see_runs=user.may("runs:read"), cursors=masked(user, cursors, request),
                  changed=request.query_params.get("changed", ""),
                  was_reset=request.query_params.get("reset", ""))


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


@admitted("jobs:write")
async def confirm_reset(request: Request, user: User) -> Response:
    """The confirmation step before a reset: the cursor now, from the start or a value."""
    name = _job_name(request)
    hub = console_of(request).hub
    await blocking(pull_job, hub, name)  # a job that is not a pull: 404 / 400 named
    cursors = await blocking(job_cursors, hub, [name])
    return render(request, "job_reset.html", job=name,
                  cursor=masked(user, cursors, request).get(name), error=None, to="")


@admitted("jobs:write")
async def reset_job(request: Request, user: User) -> Response:
    """Reset the cursor as `hub sync reset JOB [--to VALUE]` and `POST /jobs/{name}/reset`
    do (their service: under the job's lease, refused while it runs, audited as the
    person); a missing value is shown back on the confirmation page."""
    name = _job_name(request)
    hub = console_of(request).hub
    form = await request.form()
    to_value = form.get("to") if form.get("mode") == "value" else None
    to = to_value if isinstance(to_value, str) else None
    if form.get("mode") == "value" and not (to or "").strip():
        cursors = await blocking(job_cursors, hub, [name])
        t = Translator(language_of(request))
        return render(request, "job_reset.html", status=400, job=name,
                      cursor=masked(user, cursors, request).get(name),
                      error=t("reset.value_needed"), to="")
    await blocking(reset_state, hub, name, to=to.strip() if to else None, actor=user.actor)
    return redirect(request, f"/jobs?reset={quote(name)}")


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
    hub = console_of(request).hub
    detail = await blocking(get_run, hub, _run_id(request))
    parts = await blocking(run_parts, hub, detail.id)
    t = Translator(language_of(request))
    return render(request, "run.html", run=masked(user, detail, request), parts=len(parts),
                  timeline=_timeline(t, detail, masked(user, [p.model_dump(mode="json")
                                                              for p in parts], request)))


@admitted("runs:read")
async def run_progress(request: Request, user: User) -> Response:
    """JSON the run page polls while the run is under way: its status and counts so far."""
    hub = console_of(request).hub
    detail = await blocking(get_run, hub, _run_id(request))
    counts = {name: getattr(detail, name) for name in (
        "pages", "read", "created", "updated", "unchanged", "rejected", "skipped", "retries")}
    parts = await blocking(run_parts, hub, detail.id)
    t = Translator(language_of(request))
    drawn = _timeline(t, detail, masked(user, [p.model_dump(mode="json") for p in parts],
                                         request))
    return JSONResponse({"status": detail.status, "finished": detail.finished_at is not None,
                         "counts": counts, "timeline": str(drawn) if drawn else None},
                        headers=SECURITY_HEADERS)


def _timeline(t: Translator, run: RunDetail, parts: list[dict[str, object]]) -> Markup | None:
    """The run's parts as a timeline (SVG), seconds from the run's start; none: no parts."""
    if not parts:
        return None
    start = run.started_at
    end = run.finished_at or datetime.now(UTC)
    bars = []
    for part in parts:
        view = RunPart.model_validate(part)
        status = "running" if view.status == "pending" and view.started_at else view.status
        note = t("timeline.note", read=view.read, rejected=view.rejected,
                 attempts=view.attempts, worker=view.worker or "—")
        if view.error:
            note += f" · {view.error[:200]}"
        bars.append(TimelineBar(
            view.key[:40], status,
            (view.started_at - start).total_seconds() if view.started_at else None,
            (view.finished_at - start).total_seconds() if view.finished_at else None,
            note=note))
    labels = {name: t(f"part.{name}") for name in ("done", "failed", "running", "pending")}
    return Markup(timeline(bars, title=t("run.timeline", id=run.id), chart_id=f"run-{run.id}",
                           now=(end - start).total_seconds(), status_labels=labels))


routes = [
    Route("/jobs", jobs, methods=["GET"]),
    Route("/jobs/{name}/trigger", trigger, methods=["POST"]),
    Route("/jobs/{name}/pause", pause_job, methods=["POST"]),
    Route("/jobs/{name}/resume", resume_job, methods=["POST"]),
    Route("/jobs/{name}/reset", confirm_reset, methods=["GET"]),
    Route("/jobs/{name}/reset", reset_job, methods=["POST"]),
    Route("/runs", runs, methods=["GET"]),
    Route("/runs/newest.json", newest_run, methods=["GET"]),
    Route("/runs/{run_id:int}", run, methods=["GET"]),
    Route("/runs/{run_id:int}/progress.json", run_progress, methods=["GET"]),
]
