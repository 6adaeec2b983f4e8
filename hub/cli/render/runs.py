"""Terminal views of jobs and runs (`hub jobs list`, `hub runs list|show`, a pull's summary)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hub.jobs.run_queries import RunDetail, RunPublic
from hub.scheduler.views import JobPublic
from hub.sync import RunSummary

__all__ = ["jobs_table", "run_panel", "run_summary", "runs_table"]

_STATUS = {"succeeded": "green", "partial": "yellow", "failed": "bold red",
           "interrupted": "red", "running": "cyan"}


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "—"


def _status(status: str | None) -> Text:
    return Text(status or "never run", style=_STATUS.get(status or "", "dim"))


def _short(at: datetime | None) -> str:
    """A time of today as 08:13:42, another day's as 2026-11-22 08:13."""
    if at is None:
        return "—"
    local = at.astimezone()
    if local.date() == datetime.now(local.tzinfo).date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def jobs_table(jobs: Sequence[JobPublic]) -> Table:
    table = Table(title="Jobs", box=box.SIMPLE_HEAD, title_justify="left")
    # Names and schedules are never split; the rest wrap at spaces (80 columns fit).
    table.add_column("job", no_wrap=True)
    table.add_column("kind", overflow="fold")
    table.add_column("schedule", no_wrap=True)
    for column in ("next run", "last run"):
        table.add_column(column, overflow="fold")
    for job in jobs:
        if job.running_run_id is not None:
            last = Text(f"#{job.running_run_id} running", style=_STATUS["running"])
        elif job.last_run_id is None:
            last = _status(None)
        else:
            last = Text.assemble(f"#{job.last_run_id} ", _status(job.last_status),
                                 f" {_short(job.last_finished_at or job.last_started_at)}")
        next_run = Text("paused", style="yellow") if job.paused else Text(_short(job.next_run_at))
        kind = f"{job.kind} · {job.connection}" if job.connection else job.kind
        table.add_row(job.name, kind, _schedule(job.schedule), next_run, last)
    return table


def _schedule(schedule: str | None) -> str:
    """`every 15m`; a cron expression kept on one line, its time zone on the next."""
    if not schedule:
        return "on demand"
    words = schedule.split(" ")
    if words[0] == "cron" and len(words) == 7:
        return " ".join(words[:6]) + "\n" + words[6]
    return schedule


def runs_table(runs: Sequence[RunPublic]) -> Table:
    table = Table(title="Runs", box=box.SIMPLE_HEAD, title_justify="left")
    for column in ("id", "job", "trigger", "status", "started", "took", "read", "new",
                   "updated", "rejected", "retries", "error"):
        table.add_column(column, overflow="fold")
    for run in runs:
        took = f"{run.duration_ms / 1000:.1f}s" if run.duration_ms is not None else "—"
        table.add_row(str(run.id), run.job, run.trigger, _status(run.status),
                      _when(run.started_at), took, str(run.read), str(run.created),
                      str(run.updated), str(run.rejected), str(run.retries),
                      Text(run.error or "", style="red"))
    if not runs:
        table.caption = "no runs"
    return table


def run_panel(run: RunDetail) -> RenderableType:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for label, value in (
        ("Run", f"{run.id} — job {run.job} ({run.kind}, {run.trigger})"),
        ("Status", _status(run.status)),
        ("When", f"{_when(run.started_at)} → {_when(run.finished_at)}"
                 + (f" ({run.duration_ms} ms)" if run.duration_ms is not None else "")),
        ("Counts", f"{run.pages} pages, {run.read} read, {run.created} new, {run.updated} "
                   f"updated, {run.unchanged} unchanged, {run.rejected} rejected, "
                   f"{run.skipped} skipped"),
        ("Retries", f"{run.retries}, {run.budget_wait_ms} ms waiting on the rate budget"),
        ("Mapping", run.mapping or "—"),
        ("Host", run.host or "—"),
    ):
        head.add_row(label, value)
    if run.error:
        head.add_row("Error", Text(run.error, style="red"))
    for warning in run.warnings:
        head.add_row("Warning", Text(warning, style="yellow"))
    if not run.errors:
        return head
    errors = Table(title=f"Rejected records (first {len(run.errors)})", box=box.SIMPLE,
                   title_justify="left")
    errors.add_column("record")
    errors.add_column("why", style="red", overflow="fold")
    for error in run.errors:
        errors.add_row(str(error.get("key") or error.get("record") or error.get("outbox_id")
                           or "—"), str(error.get("message") or error.get("error") or ""))
    return Group(head, errors)


def run_summary(summary: RunSummary) -> Table:
    """A pull's counts: records read, created, updated, unchanged, rejected, retries and the
    time waited on the rate budget; pages and time in the title. Narrow enough for an
    80-column terminal with every heading whole."""
    took = "" if summary.duration_ms is None else f" in {summary.duration_ms} ms"
    table = Table(box=box.SIMPLE_HEAD, title_justify="left", title=(
        f"Run {summary.run_id} of {summary.job}: {summary.status} — {summary.pages} "
        f"page{'' if summary.pages == 1 else 's'}{took}"))
    for column in ("read", "created", "updated", "unchanged", "rejected", "retries",
                   "rate wait"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_row(*(str(x) for x in (summary.read, summary.created, summary.updated,
                                     summary.unchanged, summary.rejected, summary.retries)),
                  f"{summary.budget_wait_ms} ms")
    return table
