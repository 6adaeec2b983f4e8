"""/tickets: create (enriched on arrival), list, get enriched, resolve, reopen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from hub.api.deps import HubDep
from hub.outbox import Resolution
from hub.resolutions import reopen_ticket, resolve_ticket
from hub.tickets import TicketCreate, TicketPublic, create_ticket, get_ticket, list_tickets

router = APIRouter(prefix="/tickets", tags=["tickets"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create(body: TicketCreate, hub: HubDep) -> TicketPublic:
    return await create_ticket(hub, body, actor="api")


@router.get("")
def list_(hub: HubDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[TicketPublic]:
    return list_tickets(hub, limit=limit)


@router.get("/{ticket_id}")
def get(ticket_id: int, hub: HubDep,
        expand: Annotated[str | None, Query(
            description="Comma-separated: customer, orders, history (always included), kb "
                        "(the best-matching knowledge-base articles)",
            examples=["customer,orders,kb"])] = None) -> TicketPublic:
    parts = [part.strip() for part in (expand or "").split(",") if part.strip()]
    return get_ticket(hub, ticket_id, expand=parts)


@router.post("/{ticket_id}/resolve")
def resolve(ticket_id: int, body: Resolution, hub: HubDep) -> TicketPublic:
    """Resolve the ticket. A refund, spare parts or a reusable solution are written back to
    the ERP / knowledge base through the outbox, exactly once; `writebacks` in the answer
    shows each (pending until the dispatcher sends it). 409 when already resolved; 422 when a
    write-back mapping refuses the ticket (nothing is changed then)."""
    resolve_ticket(hub, ticket_id, body, actor="api")
    return get_ticket(hub, ticket_id)


@router.post("/{ticket_id}/reopen")
def reopen(ticket_id: int, hub: HubDep) -> TicketPublic:
    reopen_ticket(hub, ticket_id, actor="api")
    return get_ticket(hub, ticket_id)
