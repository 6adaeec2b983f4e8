"""A ticket's first response (`first_response_at`, the dashboard's time to first response):
set by the first status change an agent makes or by the resolution, whichever comes first,
and never moved by what follows. (A reply sent to a 微信客服 customer sets it too:
tests/hub/messaging/test_kf.py.)"""

from __future__ import annotations

from datetime import datetime

from hub.outbox import Resolution
from hub.runtime import Hub
from hub.store.models import Ticket
from hub.tickets import TicketCreate, TicketUpdate, create_ticket, update_ticket
from hub.tickets.resolve import resolve_ticket


def _answered(hub: Hub, ticket_id: int) -> datetime | None:
    with hub.sessions() as session:
        return session.get_one(Ticket, ticket_id).first_response_at


async def _new(hub: Hub) -> int:
    return (await create_ticket(hub, TicketCreate(subject="净水器漏水", channel="api"),
                                actor="test")).id


async def test_first_response__the_first_status_change_then_kept(hub: Hub) -> None:
    ticket_id = await _new(hub)
    await update_ticket(hub, ticket_id, TicketUpdate(priority="high"), if_match=["*"],
                        actor="agent:wangfang")
    assert _answered(hub, ticket_id) is None  # a change of priority answers nobody
    await update_ticket(hub, ticket_id, TicketUpdate(status="pending"), if_match=["*"],
                        actor="agent:wangfang")
    first = _answered(hub, ticket_id)
    assert first is not None
    await update_ticket(hub, ticket_id, TicketUpdate(status="open"), if_match=["*"],
                        actor="agent:wangfang")
    resolve_ticket(hub, ticket_id, Resolution(note="已上门更换"), actor="agent:wangfang")
    assert _answered(hub, ticket_id) == first


async def test_first_response__a_ticket_resolved_at_once_was_answered_then(hub: Hub) -> None:
    ticket_id = await _new(hub)
    resolve_ticket(hub, ticket_id, Resolution(note="电话里已解决"), actor="agent:wangfang")
    with hub.sessions() as session:
        ticket = session.get_one(Ticket, ticket_id)
        assert ticket.first_response_at == ticket.resolved_at is not None
