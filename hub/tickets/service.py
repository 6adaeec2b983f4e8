"""The commands on tickets: creation (its enrichment queued with it, then the notify rules),
enrichment on request, and updates guarded by the ticket's version (ETag). Reads are in
queries, the DTOs in schemas."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, get_args

import anyio
from sqlalchemy.orm import Session

from hub.audit import AuditEntry
from hub.enrichment import enrich_new_ticket, enrich_now
from hub.enrichment.queue import enqueue as enqueue_enrichment
from hub.errors import ConflictError, InvalidRequestError, NotFoundError, PreconditionFailedError
from hub.notify.engine import evaluate_enriched, evaluate_ticket
from hub.runtime import Hub
from hub.store.models import Ticket
from hub.tickets.queries import get_ticket, get_versioned_ticket
from hub.tickets.reader import stored_etag
from hub.tickets.schemas import (
    EditableStatus,
    TicketCreate,
    TicketPublic,
    TicketUpdate,
    VersionedTicket,
)

__all__ = ["create_ticket", "enrich_ticket", "insert_ticket", "ticket_created", "update_ticket"]

log = logging.getLogger("hub.tickets")

_EDITABLE_STATUSES = frozenset(get_args(EditableStatus))


async def create_ticket(hub: Hub, data: TicketCreate, *, actor: str) -> TicketPublic:
    """Store the ticket (its enrichment queued with it), enrich it within the enrich job's
    `inline_wait`, then run the notify rules. A slow or failing source never blocks the
    ticket: it comes back `pending` or `partial`, and the queue finishes it."""
    with hub.sessions.begin() as session:
        ticket_id = insert_ticket(hub, session, data, actor=actor).id
    await ticket_created(hub, ticket_id, actor=actor)
    return get_ticket(hub, ticket_id)


async def ticket_created(hub: Hub, ticket_id: int, *, actor: str) -> None:
    """What follows a committed new ticket (its queue row written with it): its enrichment,
    waited for up to the enrich job's `inline_wait`, then the notify rules. What is not done
    by then is left to the queue, which runs the rules when it settles."""
    await enrich_new_ticket(hub, ticket_id, actor=actor, then=evaluate_enriched)


def insert_ticket(hub: Hub, session: Session, data: TicketCreate, *, actor: str) -> Ticket:
    """Add a ticket and its audit row inside the caller's transaction (call `ticket_created`
    once it commits)."""
    now = datetime.now(UTC)
    ticket = Ticket(subject=data.subject, description=data.description,
                    channel=data.channel, contact_name=data.contact_name,
                    contact_mobile=data.contact_mobile,
                    contact_email=data.contact_email,
                    category=data.category, priority=data.priority,
                    external_ref=data.external_ref,
                    enrichment_status="pending", created_at=now, updated_at=now)
    session.add(ticket)
    session.flush()
    enqueue_enrichment(session, ticket.id, reason="created", now=now)
    hub.audit.append(session, [AuditEntry(actor, "ticket.create", f"ticket:{ticket.id}",
                                          detail={"channel": data.channel})])
    return ticket


async def enrich_ticket(hub: Hub, ticket_id: int, *, actor: str) -> None:
    """Enrich the ticket again now, waiting for it (bounded by the source's timeout)."""
    with hub.sessions.begin() as session:
        if session.get(Ticket, ticket_id) is None:
            raise NotFoundError(f"no ticket {ticket_id}")
        enqueue_enrichment(session, ticket_id, reason="requested", now=datetime.now(UTC))
    await enrich_now(hub, ticket_id, actor=actor, wait=None, then=evaluate_enriched)


def _load(session: Session, ticket_id: int, *, lock: bool = False
          ) -> tuple[Ticket, list[dict[str, Any]]]:
    ticket = session.get(Ticket, ticket_id, with_for_update=lock)
    if ticket is None:
        raise NotFoundError(f"no ticket {ticket_id}")
    writebacks: list[dict[str, Any]] = []
    if ticket.resolutions:
        from hub.tickets.resolve import ticket_writebacks

        writebacks = ticket_writebacks(session, ticket_id)
    return ticket, writebacks


_NOT_NULL = ("subject", "description", "priority", "status")
_SHOWN_IN_AUDIT = ("status", "priority", "category")  # short and free of personal data


async def update_ticket(hub: Hub, ticket_id: int, changes: TicketUpdate, *,
                        if_match: Collection[str] | None, actor: str) -> VersionedTicket:
    """Apply `changes` if the ticket is still at a version `if_match` names (`*`: any),
    then run the notify rules when anything changed (a failing messenger never fails this).

    The version is checked on the locked row inside the write transaction, so of two agents
    editing the same version, the second is refused (412) instead of overwriting the first.
    """
    changed = await anyio.to_thread.run_sync(
        lambda: _apply_update(hub, ticket_id, changes, if_match=if_match, actor=actor))
    if changed:
        await evaluate_ticket(hub, ticket_id, trigger="ticket.update", actor=actor)
    return await anyio.to_thread.run_sync(lambda: get_versioned_ticket(hub, ticket_id))


def _apply_update(hub: Hub, ticket_id: int, changes: TicketUpdate, *,
                  if_match: Collection[str] | None, actor: str) -> list[str]:
    if if_match is None:
        raise PreconditionFailedError(
            "an update needs If-Match with the ticket's ETag (from GET /tickets/{id})",
            status=428)
    fields = changes.model_dump(exclude_unset=True)
    nulls = sorted(name for name in _NOT_NULL if name in fields and fields[name] is None)
    if nulls:
        raise InvalidRequestError(f"{', '.join(nulls)} cannot be null")
    with hub.sessions.begin() as session:
        ticket, writebacks = _load(session, ticket_id, lock=True)
        current = stored_etag(ticket, writebacks)
        if "*" not in if_match and current not in if_match:
            raise PreconditionFailedError(
                f"ticket {ticket_id} has changed since that ETag (now {current}); "
                "GET it again and re-apply the change")
        changed = [name for name, value in fields.items() if getattr(ticket, name) != value]
        if "status" in changed and ticket.status not in _EDITABLE_STATUSES:
            raise ConflictError(f"ticket {ticket_id} is {ticket.status}; "
                                "reopen it (POST /tickets/{id}/reopen) before changing status")
        if changed:
            detail: dict[str, Any] = {"fields": changed}
            for name in changed:
                if name in _SHOWN_IN_AUDIT:
                    detail[name] = {"from": getattr(ticket, name), "to": fields[name]}
                setattr(ticket, name, fields[name])
            ticket.updated_at = datetime.now(UTC)
            if "status" in changed:
                ticket.mark_answered(ticket.updated_at)
            hub.audit.append(session, [AuditEntry(actor, "ticket.update", f"ticket:{ticket_id}",
                                                  detail=detail)])
    return changed
