"""Terminal views of tickets: one enriched ticket as an agent reads it, and a list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hub.tickets import HistorySummary, TicketCustomer, TicketPublic

__all__ = ["ticket_panel", "tickets_table"]

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
    failure = ticket.enrichment_failure
    shown = _enrichment_state(ticket)
    status = Text(shown, style=_STATUS_STYLE.get(shown, ""))
    if failure is not None:  # for good: not retried (hub enrich retry TICKET tries again)
        at = f" at {failure.at:%Y-%m-%d %H:%M:%S} UTC" if failure.at else ""
        status.append(f"{at}: {failure.reason}  — hub enrich retry {ticket.id} once fixed",
                      style="red")
    elif ticket.enrichment_error:
        status.append(f"  ({ticket.enrichment_error})", style="yellow")
    head.add_row("Enrichment", status)
    parts: list[RenderableType] = [head]
    if ticket.customer:
        parts.append(_customer_block(ticket.customer, ticket.summary))
    if ticket.history:
        parts.append(_orders_table([o.model_dump() for o in ticket.history.orders]))
        parts.append(_interactions_table([i.model_dump() for i in ticket.history.interactions]))
    return Panel(Group(*parts), title=f"Ticket #{ticket.id}", title_align="left",
                 border_style="cyan")


def _customer_block(customer: TicketCustomer, summary: HistorySummary | None) -> Panel:
    tier = customer.tier or "—"
    attributes = customer.attributes
    profile = Table.grid(padding=(0, 2))
    profile.add_column(style="bold")
    profile.add_column()
    profile.add_row("Name", customer.name or "—")
    profile.add_row("Tier", Text(tier, style=_TIER_STYLE.get(tier, "")))  # as everywhere
    profile.add_row("Company", customer.company or "—")
    profile.add_row("Mobile", customer.mobile or "—")
    profile.add_row("Email", customer.email or "—")
    place = " ".join(x for x in (attributes.get("province"), attributes.get("city")) if x)
    profile.add_row("Location", place or "—")
    if attributes.get("tags"):
        profile.add_row("Tags", "、".join(attributes["tags"]))
    profile.add_row("CRM id", f"{customer.source}:{customer.external_id}")
    blocks: list[RenderableType] = [profile]
    if summary:
        stats = Table.grid(padding=(0, 2))
        stats.add_column(style="bold")
        stats.add_column(justify="right")
        stats.add_row("Orders", str(summary.orders))
        stats.add_row("Spent (CNY)", f"¥{float(summary.total_spent):,.2f}")
        stats.add_row("Last order", _short_time(summary.last_order_at))
        stats.add_row("Past contacts", str(summary.interactions))
        blocks.append(stats)
    return Panel(Columns(blocks, padding=(0, 6)), title="Customer 360°", title_align="left",
                 border_style="magenta")


def _orders_table(orders: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="Orders", title_justify="left", box=box.SIMPLE_HEAD, expand=True)
    table.add_column("Order", no_wrap=True)
    table.add_column("Date", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Items", overflow="fold")  # Chinese names wrap by character
    table.add_column("Total (CNY)", justify="right", no_wrap=True)
    table.add_column("From", no_wrap=True)
    for order in orders[:8]:
        items = "\n".join(_line(line) for line in order.get("items") or [])
        table.add_row(_text(order.get("order_no")), _text(order.get("ordered_at"))[:10] or "—",
                      _text(order.get("status")), items, _text(order.get("total")),
                      _origin(order))
    if not orders:
        table.add_row("—", "", "", "no orders", "", "")
    return table


def _interactions_table(interactions: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="Past interactions", title_justify="left", box=box.SIMPLE_HEAD,
                  expand=True)
    table.add_column("When", no_wrap=True)
    table.add_column("Channel", no_wrap=True)
    table.add_column("Summary", overflow="fold")
    table.add_column("Agent", no_wrap=True)
    table.add_column("From", no_wrap=True)
    for item in interactions[:6]:
        table.add_row(_text(item.get("at"))[:10] or "—", _text(item.get("channel")),
                      _text(item.get("summary")), _text(item.get("agent")), _origin(item))
    if not interactions:
        table.add_row("—", "", "no past interactions", "", "")
    return table


def _text(value: Any) -> str:
    """A vendor's value as a cell: whatever type its system sent."""
    return "" if value is None else str(value)


def _line(line: Any) -> str:
    """An order line: its name (or SKU) and quantity, as far as its system sent them."""
    if not isinstance(line, dict):
        return _text(line)
    name = _text(line.get("name") or line.get("sku")) or "?"
    quantity = line.get("qty", line.get("quantity"))
    return name if quantity is None else f"{name} ×{quantity}"


def _origin(item: dict[str, Any]) -> str:
    """The system an item came from and its freshness: when a pull stored it, else when the
    hub read it."""
    when = item.get("stored_at") or item.get("fetched_at")
    return f"{item.get('source') or '—'} {_short_time(_text(when) if when else None)}"


def tickets_table(tickets: Sequence[TicketPublic]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("#", "Subject", "Customer", "Tier", "Enrichment"):
        table.add_column(column)
    for t in tickets:
        customer = t.customer
        table.add_row(str(t.id), t.subject, (customer.name if customer else None) or "—",
                      (customer.tier if customer else None) or "—",
                      Text(_enrichment_state(t), style=_STATUS_STYLE.get(_enrichment_state(t),
                                                                         "")))
    return table


def _enrichment_state(ticket: TicketPublic) -> str:
    """The state an agent reads: `failed` for a failure no retry mends (the API's v1 says
    `partial` with `enrichment_failure`)."""
    return "failed" if ticket.enrichment_failure is not None else ticket.enrichment_status
