"""Resolving a ticket: the status change and every write-back it owes, in one transaction.

A resolution with a refund, spare parts or a reusable solution owes writes to other systems
(ERP bills, a KB page). Each configured write-back job maps the ticket into its vendor's
document now — so a mapping error refuses the resolution, naming the field, before anything
is stored — and leaves the result in the outbox in the same transaction as the ticket change.
The dispatcher sends it later, exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import AuditEntry
from hub.config import WritebackJob
from hub.core import tracing
from hub.errors import ConflictError, InvalidRequestError, NotFoundError
from hub.mapping import RecordMappingError
from hub.outbox import store
from hub.outbox.documents import Resolution, idempotency_key, json_document, writeback_document
from hub.outbox.views import OutboxView
from hub.runtime import Hub
from hub.store.models import Customer, OutboxMessage, Ticket

__all__ = ["reopen_ticket", "resolve_ticket", "ticket_writebacks", "writeback_jobs"]


def writeback_jobs(hub: Hub) -> dict[str, WritebackJob]:
    return {name: job for name, job in hub.config.hub.jobs.items()
            if isinstance(job, WritebackJob)}


def resolve_ticket(hub: Hub, ticket_id: int, resolution: Resolution, *,
                   actor: str) -> list[OutboxMessage]:
    """Resolve the ticket and enqueue its write-backs; returns the outbox rows written.

    Raises NotFoundError, ConflictError (already resolved: reopen it first) and
    InvalidRequestError (a write-back mapping refused the ticket; nothing is stored).
    The rows keep the current trace (tracing on): their writes continue it.
    """
    with tracing.span("ticket.resolve", **{"hub.ticket_id": ticket_id}) as span:
        rows = _resolve(hub, ticket_id, resolution, actor=actor)
        if span is not None:
            span.set_attribute("hub.writebacks", len(rows))
        return rows


def _resolve(hub: Hub, ticket_id: int, resolution: Resolution, *,
             actor: str) -> list[OutboxMessage]:
    jobs = {name: job for name, job in writeback_jobs(hub).items()
            if resolution.triggers(job.on)}
    now = datetime.now(UTC)
    # Asked before the transaction: on SQLite a second session would wait on its write lock.
    links = {name: _already_known(hub, job, ticket_id, resolution)
             for name, job in jobs.items()}
    with hub.sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id, with_for_update=True)
        if ticket is None:
            raise NotFoundError(f"no ticket {ticket_id}")
        if ticket.status == "resolved":
            raise ConflictError(f"ticket {ticket_id} is already resolved; reopen it to "
                                "resolve it again")
        customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        ticket.resolutions = (ticket.resolutions or 0) + 1
        recorded = resolution.model_dump(mode="json")
        rows = []
        for name, job in sorted(jobs.items(), key=lambda item: _order(item[1])):
            linked = links[name]
            if linked is not None:
                recorded["kb_link"] = linked
                continue
            rows.append(_enqueue(hub, session, name, job, ticket, customer, resolution, now))
        ticket.status = "resolved"
        ticket.resolved_at = ticket.updated_at = now
        ticket.mark_answered(now)
        ticket.resolution = recorded
        hub.audit.append(session, [AuditEntry(
            actor, "ticket.resolve", f"ticket:{ticket_id}",
            detail={"resolution": ticket.resolutions, "kb_link": recorded.get("kb_link"),
                    "writebacks": [{"outbox_id": r.id, "action": r.action,
                                    "key": r.idempotency_key} for r in rows]})])
        return rows


def _already_known(hub: Hub, job: WritebackJob, ticket_id: int,
                   resolution: Resolution) -> dict[str, Any] | None:
    """The KB article a reusable solution nearly duplicates, unless this ticket published
    its own page already (then re-resolving updates that page)."""
    if job.on != "solution" or not job.link_near_duplicates or resolution.solution is None:
        return None
    with hub.sessions() as session:
        published = session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.ticket_id == ticket_id, OutboxMessage.connection == job.connection,
            OutboxMessage.action == job.action).limit(1))
    if published is not None:
        return None
    from hub.kb.duplicates import near_duplicate

    solution = resolution.solution
    hit = near_duplicate(hub, solution.title, f"{solution.problem}\n{solution.solution}")
    if hit is None:
        return None
    return {"article_id": hit.id, "title": hit.title, "url": hit.url,
            "score": round(hit.score, 3)}


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
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id)
                           .order_by(OutboxMessage.id))
    keep = {"id", "action", "connection", "key", "status", "step", "number", "error"}
    return [OutboxView.of(row).model_dump(mode="json", include=keep) for row in rows]
