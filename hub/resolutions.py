"""Resolving a ticket: the status change and every write-back it owes, in one transaction.

A resolution with a refund, spare parts or a reusable solution owes writes to other systems
(ERP bills, a KB page). Each configured write-back job maps the ticket into its vendor's
document now — so a mapping error refuses the resolution, naming the field, before anything
is stored — and leaves the result in the outbox in the same transaction as the ticket change.
The dispatcher sends it later, exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .audit import AuditEntry
from .config import WritebackJob
from .errors import ConflictError, InvalidRequestError, NotFoundError
from .jsonable import to_jsonable
from .mapping import RecordMappingError
from .outbox import store
from .outbox.documents import Resolution, idempotency_key, writeback_document
from .runtime import Hub
from .store.models import Customer, OutboxMessage, Ticket

__all__ = ["json_document", "reopen_ticket", "resolve_ticket", "ticket_writebacks",
           "writeback_jobs"]


def writeback_jobs(hub: Hub) -> dict[str, WritebackJob]:
    return {name: job for name, job in hub.config.hub.jobs.items()
            if isinstance(job, WritebackJob)}


def resolve_ticket(hub: Hub, ticket_id: int, resolution: Resolution, *,
                   actor: str) -> list[OutboxMessage]:
    """Resolve the ticket and enqueue its write-backs; returns the outbox rows written.

    Raises NotFoundError, ConflictError (already resolved: reopen it first) and
    InvalidRequestError (a write-back mapping refused the ticket; nothing is stored).
    """
    jobs = {name: job for name, job in writeback_jobs(hub).items()
            if resolution.triggers(job.on)}
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id, with_for_update=True)
        if ticket is None:
            raise NotFoundError(f"no ticket {ticket_id}")
        if ticket.status == "resolved":
            raise ConflictError(f"ticket {ticket_id} is already resolved; reopen it to "
                                "resolve it again")
        customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        ticket.resolutions = (ticket.resolutions or 0) + 1
        rows = [_enqueue(hub, session, name, job, ticket, customer, resolution, now)
                for name, job in sorted(jobs.items(), key=lambda item: _order(item[1]))]
        ticket.status = "resolved"
        ticket.resolved_at = ticket.updated_at = now
        ticket.resolution = resolution.model_dump(mode="json")
        hub.audit.append(session, [AuditEntry(
            actor, "ticket.resolve", f"ticket:{ticket_id}",
            detail={"resolution": ticket.resolutions,
                    "writebacks": [{"outbox_id": r.id, "action": r.action,
                                    "key": r.idempotency_key} for r in rows]})])
        return rows


def _order(job: WritebackJob) -> int:
    """Bills before the KB page: money matters first when a ticket's rows queue up."""
    return {"refund": 0, "parts": 1, "solution": 2}[job.on]


def _enqueue(hub: Hub, session: Session, name: str, job: WritebackJob, ticket: Ticket,
             customer: Customer | None, resolution: Resolution,
             now: datetime) -> OutboxMessage:
    key = idempotency_key(ticket.id, job, ticket.resolutions)
    payload = writeback_document(ticket, customer, resolution, job=job, key=key,
                                 resolved_at=now)
    mapping = hub.mappings.get(job.mapping)
    try:
        document = mapping(payload, row=f"ticket {ticket.id}")
    except RecordMappingError as exc:
        raise InvalidRequestError(f"write-back '{name}' cannot map ticket {ticket.id}: "
                                  f"{exc}") from None
    if document is None:
        raise InvalidRequestError(f"write-back '{name}': mapping '{job.mapping}' filtered "
                                  f"ticket {ticket.id} out")
    return store.enqueue(session, job=name, connection=job.connection, action=job.action,
                         key=key, ticket_id=ticket.id, mapping=mapping.label,
                         payload=payload, document=json_document(document), now=now)


def json_document(value: Any) -> Any:
    """JSON-ready: decimals become JSON numbers (vendors want 88.5, not "88.50") unless a
    float cannot hold them exactly, then text; dates become ISO text."""
    if isinstance(value, dict):
        return {str(k): json_document(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_document(v) for v in value]
    if isinstance(value, Decimal):
        number = float(value)
        if Decimal(repr(number)) == value:
            return int(number) if number.is_integer() and "." not in str(value) else number
        return str(value)
    return to_jsonable(value)


def reopen_ticket(hub: Hub, ticket_id: int, *, actor: str) -> None:
    """Back to open; a later resolve writes new bills (its keys carry the new number)."""
    with hub.sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id, with_for_update=True)
        if ticket is None:
            raise NotFoundError(f"no ticket {ticket_id}")
        if ticket.status != "resolved":
            raise ConflictError(f"ticket {ticket_id} is {ticket.status}, not resolved")
        ticket.status = "open"
        ticket.updated_at = datetime.now(UTC)
        hub.audit.append(session, [AuditEntry(actor, "ticket.reopen", f"ticket:{ticket_id}")])


def ticket_writebacks(session: Session, ticket_id: int) -> list[dict[str, Any]]:
    """The ticket's write-backs as the ticket view shows them."""
    from .outbox.views import OutboxView

    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id)
                           .order_by(OutboxMessage.id))
    keep = {"id", "action", "connection", "key", "status", "step", "number", "error"}
    return [OutboxView.of(row).model_dump(mode="json", include=keep) for row in rows]
