"""Terminal views of a notify pass: its counts, the rules that fired and where each send went."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hub.notify.engine import Firing, NotifySummary
from hub.notify.send import DeliveryRecord

__all__ = ["firings_table", "notify_summary"]

_DELIVERY_STYLE = {"sent": "green", "pending": "cyan", "partial": "yellow", "failed": "red"}


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
