"""What a rule sees of a ticket (`SCOPE_NAMES`), and its message rendered from it."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from connectors.sdk.messaging import Message
from hub.config.rules import MessageSpec, template
from hub.core.time import as_utc
from hub.store.models import Ticket

__all__ = ["render_message", "ticket_scope", "ticket_url"]

_HUNDREDTH = Decimal("0.01")


def ticket_url(public_url: str | None, ticket_id: int) -> str | None:
    return f"{public_url}/tickets/{ticket_id}" if public_url else None


def ticket_scope(ticket: Ticket, *, now: datetime, public_url: str | None) -> dict[str, Any]:
    """The names a rule's condition and templates read (see `spec.SCOPE_NAMES`).

    `age_minutes` (whole minutes) and `age_hours` (a decimal, to the hundredth, rounded down)
    are the ticket's age at `now`: the SLA clock.
    """
    enrichment = ticket.enrichment or {}
    customer = enrichment.get("customer")
    created = as_utc(ticket.created_at or ticket.updated_at)  # empty: imported, no time
    seconds = max(0.0, (now - created).total_seconds())
    return {
        "id": ticket.id,
        "subject": ticket.subject,
        "description": ticket.description,
        "text": f"{ticket.subject}\n{ticket.description}",
        "channel": ticket.channel,
        "status": ticket.status,
        "category": ticket.category,
        "priority": ticket.priority,
        "contact_name": ticket.contact_name,
        "mobile": ticket.contact_mobile,
        "email": ticket.contact_email,
        "customer": customer,
        "tier": customer.get("tier") if isinstance(customer, dict) else None,
        "summary": enrichment.get("summary"),
        "created_at": created,
        "updated_at": as_utc(ticket.updated_at),
        "age_minutes": int(seconds // 60),
        "age_hours": (Decimal(int(seconds)) / 3600).quantize(_HUNDREDTH, rounding=ROUND_DOWN),
        "now": now,
        "url": ticket_url(public_url, ticket.id),
    }


def render_message(spec: MessageSpec, scope: dict[str, Any]) -> Message:
    """The Message of a rule for one ticket; raises EvaluationError (a ValueError) if a
    template cannot be rendered, ValueError if a card has no link."""
    return Message(kind=spec.kind, title=template(spec.title)(scope),
                   text=template(spec.text)(scope), url=scope.get("url"),
                   at_mobiles=tuple(spec.at_mobiles), at_all=spec.at_all)
