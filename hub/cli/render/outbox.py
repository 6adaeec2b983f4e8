"""Rich renderings of the outbox, dead letters, dispatch runs and reconciliation reports.

Vendor text (errors, numbers, keys) goes into cells as `Text`, never as markup, so these views
are safe on any console (the demo's reads markup)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hub.outbox import DispatchSummary
from hub.outbox.reconcile import ReconcileReport
from hub.outbox.views import OutboxView

__all__ = ["dispatch_summary", "outbox_table", "reconcile_view"]

_STATUS = {"pending": "cyan", "done": "green", "dead": "bold red"}


def outbox_table(rows: Sequence[OutboxView], *, title: str = "Outbox") -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    # Identifiers are never split (an 80-column terminal fits them); the status says the
    # step and the tries when there are any, and the vendor's number or error wraps.
    for column in ("id", "ticket", "action → connection", "key", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("number/error", overflow="fold", min_width=12)
    for row in rows:
        table.add_row(str(row.id), str(row.ticket_id or "—"),
                      Text(f"{row.action} → {row.connection}"), Text(row.key),
                      _row_status(row), _row_detail(row))
    if not rows:
        table.caption = "nothing here"
    return table


def _row_status(row: OutboxView) -> Text:
    """`pending`, `sending · <step>`, `dead · 3 tries (+1 replay)` …"""
    status = "sending" if row.in_flight else row.status
    notes = [row.step] if row.step and row.step not in (status, "done") else []
    if row.attempts > 1 or row.status == "dead":
        notes.append(f"{row.attempts} tr{'y' if row.attempts == 1 else 'ies'}")
    if row.replays:
        notes.append(f"+{row.replays} replay{'' if row.replays == 1 else 's'}")
    return Text(" · ".join([status, *notes]), style=_STATUS.get(row.status, ""))


def _row_detail(row: OutboxView) -> Text:
    if row.status == "dead" or (row.error and row.status != "done"):
        return Text(row.error or "", style="red")
    return Text(row.number or "")


def dispatch_summary(summary: DispatchSummary) -> RenderableType:
    style = {"succeeded": "green", "partial": "yellow"}.get(summary.status, "red")
    ms = summary.duration_ms or 0
    took = f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"
    line = Text.assemble(
        (f"outbox dispatch {summary.status}", style), f" (run {summary.run_id}): ",
        f"{summary.done} written, {summary.retried} to retry, ",
        (f"{summary.dead} dead letters", "red" if summary.dead else ""),
        f" in {took}")
    if not summary.errors:
        return line
    errors = Table(box=box.SIMPLE, show_header=True)
    errors.add_column("row")
    errors.add_column("key")
    errors.add_column("why", style="red", overflow="fold")
    for error in summary.errors[:20]:
        errors.add_row(str(error["outbox_id"]), Text(str(error["key"])),
                       Text(str(error["error"])))
    return Group(line, errors)


def reconcile_view(report: ReconcileReport) -> RenderableType:
    verdict = Text("in agreement", style="green") if report.ok else Text(
        ", ".join(f"{n} {kind}" for kind, n in sorted(report.counts().items())), style="red")
    head = Text.assemble(f"since {report.since:%Y-%m-%d %H:%M}: {report.checked} write-backs, "
                         f"{report.bills} vendor documents, {report.matched} matched — ",
                         verdict)
    parts: list[RenderableType] = [head]
    if report.skipped_jobs:
        parts.append(Text(f"skipped (connection cannot list what it wrote): "
                          f"{', '.join(report.skipped_jobs)}", style="dim"))
    if report.findings:
        table = Table(box=box.SIMPLE_HEAD)
        for column in ("finding", "job", "ticket", "key", "documents", "detail"):
            table.add_column(column, overflow="fold")
        for finding in report.findings:
            table.add_row(Text(finding.kind, style="red"), Text(finding.job),
                          Text(finding.reference or "—"), Text(finding.key or "—"),
                          Text(", ".join(finding.numbers) or "—"), Text(finding.detail))
        parts.append(table)
    return Group(*parts)
