"""/tickets: create (enriched on arrival), list, get enriched."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from hub.api.deps import HubDep
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
