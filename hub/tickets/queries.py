"""Reading tickets: one by id (with its ETag, optionally its kb suggestions), as JSON
straight from the row on the agent's click path, and pages of them by filter and cursor."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.pages import decode_cursor, encode_cursor
from hub.core.time import as_utc
from hub.errors import InvalidRequestError, NotFoundError
from hub.runtime import Hub
from hub.store.models import Ticket
from hub.tickets.reader import (
    TicketReader,
    body_etag,
    fetch_row,
    has_writebacks,
    read_raw,
    ticket_body,
    ticket_row,
)
from hub.tickets.schemas import (
    TicketFilter,
    TicketPage,
    TicketPublic,
    VersionedJson,
    VersionedTicket,
)

__all__ = ["EXPANDABLE", "get_ticket", "get_ticket_json", "get_versioned_ticket",
           "list_ticket_page", "list_tickets"]

EXPANDABLE = ("customer", "orders", "history", "kb")  # customer/orders/history: always there


def get_ticket(hub: Hub, ticket_id: int, *, expand: Collection[str] = ()) -> TicketPublic:
    """The ticket, enriched; with `expand` containing "kb", the best-matching articles too."""
    return get_versioned_ticket(hub, ticket_id, expand=expand).ticket


def get_versioned_ticket(hub: Hub, ticket_id: int, *, expand: Collection[str] = ()
                         ) -> VersionedTicket:
    """`get_ticket` with the ticket's ETag (which the kb suggestions are no part of)."""
    _check_expand(expand)
    raw, writebacks = _read(hub, ticket_id)
    dialect = hub.engine.dialect
    public = TicketPublic.of(ticket_row(dialect, raw), writebacks=writebacks)
    etag = body_etag(ticket_body(dialect, raw, writebacks))
    if "kb" in expand:
        from hub.kb import ArticleMatch, suggest_for_ticket

        hits = suggest_for_ticket(hub, public.subject, public.description, public.category)
        public.kb = [ArticleMatch.of(hit) for hit in hits]
    return VersionedTicket(public, etag)


def _check_expand(expand: Collection[str]) -> None:
    unknown = sorted(set(expand) - set(EXPANDABLE))
    if unknown:
        raise InvalidRequestError(f"cannot expand {', '.join(unknown)}; "
                                  f"expandable: {', '.join(EXPANDABLE)}")


def get_ticket_json(hub: Hub, ticket_id: int, *, expand: Collection[str] = (),
                    reader: TicketReader | None = None) -> VersionedJson:
    """`get_versioned_ticket`, serialized. The agent's click path: with neither kb
    suggestions nor write-backs to add, the body is built straight from the row, without
    the model (validating and serializing it costs more than the read). `reader`: the
    calling thread's own (see TicketReader)."""
    if "kb" in expand:
        versioned = get_versioned_ticket(hub, ticket_id, expand=expand)
        return VersionedJson(versioned.ticket.model_dump_json().encode(), versioned.etag)
    _check_expand(expand)
    raw, writebacks = _read(hub, ticket_id, reader)
    body = ticket_body(hub.engine.dialect, raw, writebacks)
    return VersionedJson(body, body_etag(body))


def _read(hub: Hub, ticket_id: int, reader: TicketReader | None = None
          ) -> tuple[tuple[Any, ...], list[dict[str, Any]]]:
    """The ticket's row as the driver returns it, and its write-backs."""
    raw = read_raw(hub, ticket_id, reader)
    if has_writebacks(hub.engine.dialect, raw):  # the row again, with them, in one transaction
        return _read_with_writebacks(hub, ticket_id)
    return raw, []


def _read_with_writebacks(hub: Hub, ticket_id: int
                          ) -> tuple[tuple[Any, ...], list[dict[str, Any]]]:
    """The ticket's row again and its write-backs, read in one transaction."""
    from hub.tickets.resolve import ticket_writebacks

    with hub.engine.connect().execution_options(read_only=True) as connection, \
            connection.begin():
        raw = fetch_row(connection.connection, connection.dialect, ticket_id)
        if raw is None:
            raise NotFoundError(f"no ticket {ticket_id}")
        with Session(bind=connection) as session:
            writebacks = ticket_writebacks(session, ticket_id)
    return raw, writebacks


def list_tickets(hub: Hub, *, limit: int = 50) -> list[TicketPublic]:
    with hub.sessions() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(limit))
        return [TicketPublic.of(t) for t in tickets]


_CURSOR_KIND = "t1"  # the cursors given out before the listings shared one codec stay valid


def list_ticket_page(hub: Hub, filters: TicketFilter, *, limit: int = 50,
                     cursor: str | None = None) -> TicketPage:
    """Tickets matching `filters`, newest first, `limit` at a time from `cursor`."""
    query = select(Ticket)
    if filters.status:
        query = query.where(Ticket.status.in_(filters.status))
    for name in ("customer_id", "category", "priority", "channel"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(Ticket, name) == value)
    if filters.created_since is not None:
        query = query.where(Ticket.created_at >= as_utc(filters.created_since))
    if filters.created_until is not None:
        query = query.where(Ticket.created_at < as_utc(filters.created_until))
    if filters.q:
        escaped = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Ticket.subject.ilike(f"%{escaped}%", escape="\\"))
    after = decode_cursor(_CURSOR_KIND, cursor)
    if after is not None:
        query = query.where(Ticket.id < after)
    with hub.sessions() as session:
        rows = list(session.scalars(query.order_by(Ticket.id.desc()).limit(limit + 1)))
        items = [TicketPublic.of(ticket) for ticket in rows[:limit]]
    next_cursor = encode_cursor(_CURSOR_KIND, items[-1].id) if len(rows) > limit else None
    return TicketPage(items=items, next_cursor=next_cursor)
