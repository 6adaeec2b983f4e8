"""Rich renderings of hub objects for the terminal (CLI and demo)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hub.notify.engine import Firing, NotifySummary
from hub.notify.send import DeliveryRecord
from hub.sync import RunSummary
from hub.tickets import TicketPublic

__all__ = ["audit_table", "firings_table", "import_summary", "imports_table", "notify_summary",
           "run_summary", "ticket_panel", "tickets_table"]

_TIER_STYLE = {"vip": "bold magenta", "gold": "bold yellow", "silver": "white",
               "standard": "dim"}
_STATUS_STYLE = {"enriched": "green", "partial": "yellow", "not_found": "dim",
                 "skipped": "dim", "pending": "cyan", "failed": "red"}


def _short_time(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "—"


def ticket_panel(ticket: TicketPublic) -> Panel:
    """One enriched ticket the way an agent wants to read it."""
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("Subject", ticket.subject)
    if ticket.description:
        head.add_row("Description", ticket.description)
    head.add_row("Channel", ticket.channel)
    contact = " / ".join(x for x in (ticket.contact_name, ticket.contact_mobile,
                                     ticket.contact_email) if x)
    head.add_row("Contact", contact or "—")
    status = Text(ticket.enrichment_status, style=_STATUS_STYLE.get(ticket.enrichment_status,
                                                                      ""))
    if ticket.enrichment_error:
        status.append(f"  ({ticket.enrichment_error})", style="yellow")
    head.add_row("Enrichment", status)
    parts: list[RenderableType] = [head]
    if ticket.customer:
        parts.append(_customer_block(ticket.customer, ticket.summary))
    if ticket.history:
        parts.append(_orders_table(ticket.history.get("orders") or []))
        parts.append(_interactions_table(ticket.history.get("interactions") or []))
    return Panel(Group(*parts), title=f"Ticket #{ticket.id}", title_align="left",
                 border_style="cyan")


def _customer_block(customer: dict[str, Any], summary: dict[str, Any] | None) -> Panel:
    tier = customer.get("tier") or "—"
    attributes = customer.get("attributes") or {}
    profile = Table.grid(padding=(0, 2))
    profile.add_column(style="bold")
    profile.add_column()
    profile.add_row("Name", customer.get("name") or "—")
    profile.add_row("Tier", Text(tier.upper(), style=_TIER_STYLE.get(tier, "")))
    profile.add_row("Company", customer.get("company") or "—")
    profile.add_row("Mobile", customer.get("mobile") or "—")
    profile.add_row("Email", customer.get("email") or "—")
    place = " ".join(x for x in (attributes.get("province"), attributes.get("city")) if x)
    profile.add_row("Location", place or "—")
    if attributes.get("tags"):
        profile.add_row("Tags", "、".join(attributes["tags"]))
    profile.add_row("CRM id", f"{customer.get('source')}:{customer.get('external_id')}")
    blocks: list[RenderableType] = [profile]
    if summary:
        stats = Table.grid(padding=(0, 2))
        stats.add_column(style="bold")
        stats.add_column(justify="right")
        stats.add_row("Orders", str(summary["orders"]))
        stats.add_row("Spent (CNY)", f"¥{float(summary['total_spent']):,.2f}")
        stats.add_row("Last order", _short_time(summary.get("last_order_at")))
        stats.add_row("Past contacts", str(summary["interactions"]))
        blocks.append(stats)
    return Panel(Columns(blocks, padding=(0, 6)), title="Customer 360°", title_align="left",
                 border_style="magenta")


def _orders_table(orders: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="Orders", title_justify="left", box=box.SIMPLE_HEAD, expand=True)
    table.add_column("Order", no_wrap=True)
    table.add_column("Date", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Items")
    table.add_column("Total (CNY)", justify="right", no_wrap=True)
    for order in orders[:8]:
        items = "，".join(f"{i['name']} ×{i['qty']}" for i in order.get("items") or [])
        table.add_row(order.get("order_no", ""), (order.get("ordered_at") or "—")[:10],
                      order.get("status", ""), items, order.get("total", ""))
    if not orders:
        table.add_row("—", "", "", "no orders", "")
    return table


def _interactions_table(interactions: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="Past interactions", title_justify="left", box=box.SIMPLE_HEAD,
                  expand=True)
    table.add_column("When", no_wrap=True)
    table.add_column("Channel", no_wrap=True)
    table.add_column("Summary")
    table.add_column("Agent", no_wrap=True)
    for item in interactions[:6]:
        table.add_row((item.get("at") or "—")[:10], item.get("channel", ""),
                      item.get("summary", ""), item.get("agent", ""))
    if not interactions:
        table.add_row("—", "", "no past interactions", "")
    return table


def tickets_table(tickets: Sequence[TicketPublic]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("#", "Subject", "Customer", "Tier", "Enrichment"):
        table.add_column(column)
    for t in tickets:
        customer = t.customer or {}
        table.add_row(str(t.id), t.subject, customer.get("name") or "—",
                      customer.get("tier") or "—",
                      Text(t.enrichment_status, style=_STATUS_STYLE.get(t.enrichment_status, "")))
    return table


def run_summary(summary: RunSummary) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title=f"Run {summary.run_id} of {summary.job}: "
                  f"{summary.status}", title_justify="left")
    for column in ("pages", "read", "created", "updated", "unchanged", "rejected", "retries",
                   "budget wait ms", "ms"):
        table.add_column(column, justify="right")
    table.add_row(*(str(x) for x in (summary.pages, summary.read, summary.created,
                                     summary.updated, summary.unchanged, summary.rejected,
                                     summary.retries, summary.budget_wait_ms,
                                     summary.duration_ms)))
    return table


def audit_table(rows: Sequence[Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("seq", "at (UTC)", "actor", "action", "target", "outcome"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row.seq), row.at.strftime("%Y-%m-%d %H:%M:%S"), row.actor,
                      row.action, row.target or "", row.outcome)
    return table


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
    table.add_column("rule", overflow="fold")
    table.add_column("ticket", no_wrap=True)
    table.add_column("to", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for firing in firings:
        records: list[DeliveryRecord | None] = [*firing.deliveries] or [None]
        for record in records:
            status = record.status if record else firing.status
            # Text, not markup: "dingtalk:robot:ops" must not become an emoji.
            table.add_row(Text(firing.rule), f"#{firing.ticket_id} ({firing.state})",
                          Text(", ".join(record.targets) if record else "—"),
                          Text(status, style=_DELIVERY_STYLE.get(status, "")),
                          Text((record.detail if record else firing.error) or ""))
    return table


def import_summary(summary: Any) -> RenderableType:
    """An import's counts and where its error report is."""
    title = f"Import {summary.id} of {summary.file_name} ({summary.mapping}): {summary.status}"
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    for column in ("read", "created", "updated", "unchanged", "rejected", "skipped"):
        table.add_column(column, justify="right")
    table.add_row(*(f"{value:,}" for value in (summary.read, summary.created, summary.updated,
                                               summary.unchanged, summary.rejected,
                                               summary.skipped)))
    lines: list[RenderableType] = [table]
    if summary.duplicate_of is not None:
        lines.append(Text(f"This file was already imported through {summary.mapping} "
                          f"(import {summary.duplicate_of}); nothing done. Use --force to "
                          "import it again.", style="yellow"))
    if summary.report_xlsx:
        lines.append(Text.assemble(("Rejected rows, with every error: ", "bold"),
                                   summary.report_xlsx, " (also ", summary.report_csv or "",
                                   "). Fix them there and import the report again."))
    if summary.error:
        lines.append(Text(summary.error, style="red"))
    return Group(*lines)


def imports_table(summaries: Sequence[Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("id", "file", "mapping", "status", "read", "created", "updated",
                   "rejected", "started (UTC)"):
        table.add_column(column)
    for s in summaries:
        table.add_row(str(s.id), s.file_name, s.mapping, s.status, f"{s.read:,}",
                      f"{s.created:,}", f"{s.updated:,}", f"{s.rejected:,}",
                      s.started_at.strftime("%Y-%m-%d %H:%M") if s.started_at else "")
    return table
