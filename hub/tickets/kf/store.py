"""A synced kf page into the store, in one transaction with the cursor that follows it.

The cursor row is advanced first, by compare-and-set on its `version`: of two syncs of one
account holding the same page, one writes it and the other finds the version moved and
writes nothing. Each message is claimed by its msgid (a page the vendor sends again adds
nothing); a customer's message (origin 3) joins the open ticket of its conversation or opens
one. A crash before the commit leaves neither the messages nor the cursor: the page is read
again. So every message lands in exactly one ticket, in the vendor's order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectors.wecom.kf import ORIGIN_CUSTOMER, KfPage, message_text
from hub.audit import AuditEntry
from hub.core.jsonable import to_jsonable
from hub.runtime import Hub
from hub.store.models import TERMINAL_TICKET_STATUSES, KfCursor, KfMessage, Ticket
from hub.tickets.schemas import TicketCreate
from hub.tickets.service import insert_ticket

__all__ = ["StoredPage", "conversation_ref", "read_cursor", "store_page"]

_SUBJECT_CHARS = 80


@dataclass(slots=True)
class StoredPage:
    """What one page added: messages stored, msgids already stored, tickets opened/joined."""

    stored: int = 0
    duplicates: int = 0
    opened: list[int] = field(default_factory=list)
    joined: set[int] = field(default_factory=set)


def conversation_ref(open_kfid: str, external_userid: str) -> str:
    """A kf conversation's `external_ref` on its tickets: the customer at the account."""
    return f"wecom_kf:{open_kfid}:{external_userid}"[:200]


def read_cursor(hub: Hub, connection: str, open_kfid: str) -> tuple[str | None, int]:
    """The account's stored cursor and its version (the row made if missing)."""
    with hub.sessions.begin() as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(KfCursor).values(
            connection=connection, open_kfid=open_kfid, cursor=None, version=0, messages=0,
            updated_at=datetime.now(UTC)).on_conflict_do_nothing(
            index_elements=["connection", "open_kfid"]))
        row = session.get_one(KfCursor, (connection, open_kfid))
        return row.cursor, row.version


def store_page(hub: Hub, connection: str, open_kfid: str, *, version: int, page: KfPage,
               names: Mapping[str, str], actor: str) -> StoredPage | None:
    """Store `page` (read from the cursor at `version`) and advance the cursor to its
    `next_cursor`, in one transaction; None when another sync advanced it first."""
    now = datetime.now(UTC)
    result = StoredPage()
    with hub.sessions.begin() as session:
        moved = session.execute(update(KfCursor).where(
            KfCursor.connection == connection, KfCursor.open_kfid == open_kfid,
            KfCursor.version == version,
        ).values(cursor=page.next_cursor, version=version + 1, synced_at=now, updated_at=now))
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return None
        tickets: dict[str, Ticket] = {}
        for message in page.messages:
            row = _claim(session, connection, open_kfid, message, now)
            if row is None:
                result.duplicates += 1
                continue
            result.stored += 1
            if row.origin == ORIGIN_CUSTOMER and row.external_userid:
                ticket = _ticket_for(hub, session, tickets, row, names, actor, result)
                row.ticket_id = ticket.id
        session.execute(update(KfCursor).where(
            KfCursor.connection == connection, KfCursor.open_kfid == open_kfid,
        ).values(messages=KfCursor.messages + result.stored))
        for ticket in tickets.values():
            if ticket.id in result.joined:
                hub.audit.append(session, [AuditEntry(
                    actor, "ticket.update", f"ticket:{ticket.id}",
                    detail={"fields": ["description"], "kf_account": open_kfid})])
        hub.audit.append(session, [AuditEntry(
            actor, "kf.sync.page", f"kf:{connection}:{open_kfid}", detail={
                "messages": len(page.messages), "stored": result.stored,
                "duplicates": result.duplicates, "opened": len(result.opened),
                "joined": len(result.joined), "has_more": page.has_more})])
    return result


def _claim(session: Session, connection: str, open_kfid: str, message: Mapping[str, Any],
           now: datetime) -> KfMessage | None:
    """The new row for `message`, or None when its msgid is stored already."""
    msgid = str(message.get("msgid") or "")[:128]
    if not msgid:
        return None  # nothing to dedupe on: the vendor always sends one
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    sent = message.get("send_time")
    send_time = (datetime.fromtimestamp(float(sent), UTC) if isinstance(sent, int | float)
                 else now)
    statement = insert(KfMessage).values(
        connection=connection, open_kfid=open_kfid, msgid=msgid,
        external_userid=str(message.get("external_userid") or "")[:64] or None,
        origin=int(message.get("origin") or 0), msgtype=str(message.get("msgtype") or "")[:32],
        send_time=send_time, text=message_text(message).replace("\x00", ""),
        content=to_jsonable(dict(message)), synced_at=now,
    ).on_conflict_do_nothing(index_elements=["connection", "open_kfid", "msgid"]
                             ).returning(KfMessage.id)
    found = session.execute(statement).scalar()
    return None if found is None else session.get_one(KfMessage, found)


def _ticket_for(hub: Hub, session: Session, tickets: dict[str, Ticket], row: KfMessage,
                names: Mapping[str, str], actor: str, result: StoredPage) -> Ticket:
    """The conversation's open ticket with `row` added to it, or a new one."""
    assert row.external_userid is not None
    ref = conversation_ref(row.open_kfid, row.external_userid)
    name = names.get(row.external_userid)
    note = _note(row, name)
    ticket = tickets.get(ref) or _open_ticket(session, ref)
    if ticket is not None and ticket.status not in TERMINAL_TICKET_STATUSES:
        ticket.description = f"{ticket.description}\n\n{note}" if ticket.description else note
        ticket.updated_at = datetime.now(UTC)
        if ticket.id not in result.opened:
            result.joined.add(ticket.id)
        tickets[ref] = ticket
        return ticket
    subject = row.text.strip().split("\n")[0][:_SUBJECT_CHARS] or f"[{row.msgtype}]"
    ticket = insert_ticket(hub, session, TicketCreate(
        subject=subject, description=note, channel="wechat",
        contact_name=(name or row.external_userid)[:200], external_ref=ref), actor=actor)
    result.opened.append(ticket.id)
    tickets[ref] = ticket
    return ticket


def _open_ticket(session: Session, ref: str) -> Ticket | None:
    found: Ticket | None = session.scalars(
        select(Ticket).where(Ticket.external_ref == ref,
                             Ticket.status.not_in(TERMINAL_TICKET_STATUSES))
        .order_by(Ticket.id.desc()).limit(1)).first()
    return found


def _note(row: KfMessage, name: str | None) -> str:
    stamp = row.send_time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"[{stamp} {name or row.external_userid} #{row.msgid}] {row.text}"


def customer_ids(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """The customers (origin 3) a page speaks for, once each."""
    return list(dict.fromkeys(str(m["external_userid"]) for m in messages
                              if m.get("origin") == ORIGIN_CUSTOMER and m.get("external_userid")))
