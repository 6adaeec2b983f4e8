"""Tickets: their schemas, the commands that change them, the fast read path; resolving
(resolve) and inbound webhooks (inbound) live beside them."""

from hub.tickets.queries import (
    EXPANDABLE,
    get_ticket,
    get_ticket_json,
    get_versioned_ticket,
    list_ticket_page,
    list_tickets,
)
from hub.tickets.reader import TicketReader
from hub.tickets.schemas import (
    Channel,
    Priority,
    TicketCreate,
    TicketFilter,
    TicketPage,
    TicketPublic,
    TicketStatus,
    TicketUpdate,
    VersionedJson,
    VersionedTicket,
)
from hub.tickets.service import create_ticket, enrich_ticket, insert_ticket, update_ticket

__all__ = [
    "Channel",
    "EXPANDABLE",
    "Priority",
    "TicketCreate",
    "TicketFilter",
    "TicketPage",
    "TicketPublic",
    "TicketReader",
    "TicketStatus",
    "TicketUpdate",
    "VersionedJson",
    "VersionedTicket",
    "create_ticket",
    "enrich_ticket",
    "get_ticket",
    "get_ticket_json",
    "get_versioned_ticket",
    "insert_ticket",
    "list_ticket_page",
    "list_tickets",
    "update_ticket",
]
