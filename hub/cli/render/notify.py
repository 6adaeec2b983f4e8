"""Terminal views of a notify pass: its counts, the rules that fired and where each send went."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hub.notify.drain import DispatchReport
from hub.notify.engine import Firing, NotifySummary
from hub.notify.send import DeliveryRecord
from hub.notify.views import DeliveryView

__all__ = ["deliveries_table", "dispatch_report", "firings_table", "notify_summary"]

_DELIVERY_STYLE = {"sent": "green", "pending": "cyan", "partial": "yellow", "failed": "red",
                   "queued": "cyan", "accepted": "cyan", "unknown": "magenta",
                   "dead": "bold red"}


def notify_summary(summary: NotifySummary) -> RenderableType:
    """A notify pass: its counts, then each rule that fired and where its message went."""
    title = (f"Run {summary.run_id} of notify ({summary.trigger}): {summary.status}"
             if summary.run_id is not None else f"notify ({summary.trigger}): nothing fired")
    counts = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    for column in ("tickets", "fired", "sent", "failed", "followed up", "retries"):
        counts.add_column(column, justify="right")
    counts.add_row(*(str(x) for x in (summary.tickets, len(summary.firings), summary.sent,
                                      summary.failed, summary.followed_up, summary.retries)))
    parts: list[RenderableType] = [counts]
    if summary.firings:
        parts.append(firings_table(summary.firings))
    if summary.error:
        parts.append(Text(summary.error, style="yellow"))
    return Group(*parts)


def firings_table(firings: Sequence[Firing]) -> Table:
    """Each rule that fired, for which ticket, and where each of its sends went."""
    table = Table(box=box.SIMPLE_HEAD)
    # Rule names are never split; where it went and why wrap (80 columns fit the rest).
    table.add_column("rule", no_wrap=True)
    table.add_column("ticket", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("to · detail", overflow="fold")
    for firing in firings:
        records: list[DeliveryRecord | None] = [*firing.deliveries] or [None]
        for record in records:
            status = record.status if record else firing.status
            detail = (record.detail if record else firing.error) or ""
            # Text, not markup: "dingtalk:robot:ops" must not become an emoji.
            to = Text(", ".join(record.targets) if record else "—")
            if detail:
                to.append(f" · {detail}", style="dim")
            table.add_row(Text(firing.rule), f"#{firing.ticket_id} ({firing.state})",
                          Text(status, style=_DELIVERY_STYLE.get(status, "")), to)
    return table


def dispatch_report(report: DispatchReport) -> Table:
    """A dispatcher's run: what it sent, retried, gave up on."""
    table = Table(box=box.SIMPLE_HEAD, title_justify="left",
                  title=f"Run {report.run_id} of notify (dispatch): {report.status}")
    names = ("sent", "retried", "dead", "unknown", "maybe delivered", "followed up")
    for name in names:
        table.add_column(name, justify="right")
    table.add_row(*(str(x) for x in (report.sent, report.retried, report.dead, report.unknown,
                                     report.maybe_delivered, report.followed_up)))
    return table


def deliveries_table(rows: Sequence[DeliveryView], *, title: str) -> Table:
    """Queued deliveries: where to, their status and tries, and the last reason."""
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for column in ("id", "ticket", "rule", "to", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("last outcome · reason", overflow="fold", min_width=12)
    for row in rows:
        to = f"{row.connection}:robot:{row.robot}" if row.robot else f"{row.connection}:people"
        notes = [f"{row.attempts} tr{'y' if row.attempts == 1 else 'ies'}"]
        if row.replays:
            notes.append(f"+{row.replays} replay{'' if row.replays == 1 else 's'}")
        status = Text(" · ".join([row.status, *notes]),
                      style=_DELIVERY_STYLE.get(row.status, ""))
        last = row.attempts_log[-1]["outcome"] if row.attempts_log else "—"
        reason = Text(last)
        if row.error or row.failed:
            reason.append(f" · {row.error or 'not reached: ' + ', '.join(row.failed)}",
                          style="dim")
        table.add_row(str(row.id), f"#{row.ticket_id}", Text(row.rule), Text(to), status,
                      reason)
    if not rows:
        table.caption = "nothing here"
    return table
