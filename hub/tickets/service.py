"""Tickets: creation, enrichment with the customer's profile and history, reading, listing
with filters and cursors, and updates guarded by the ticket's version (ETag)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import weakref
from collections import namedtuple
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import anyio
import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import JSON, Dialect, Engine, bindparam, select
from sqlalchemy.orm import Session, object_session

from hub.audit import AuditEntry
from hub.core.jsonable import UtcDatetime
from hub.enrichment import enrich_new_ticket, enrich_now
from hub.enrichment.queue import enqueue as enqueue_enrichment
from hub.errors import ConflictError, InvalidRequestError, NotFoundError, PreconditionFailedError
from hub.mapping import normalize_mobile
from hub.notify.engine import evaluate_enriched, evaluate_ticket
from hub.runtime import Hub
from hub.store.models import Ticket

__all__ = ["TicketCreate", "TicketFilter", "TicketPage", "TicketPublic", "TicketReader",
           "TicketUpdate", "VersionedJson", "VersionedTicket", "create_ticket", "get_ticket",
           "get_ticket_json", "get_versioned_ticket", "insert_ticket", "list_ticket_page",
           "list_tickets", "ticket_created", "update_ticket"]

log = logging.getLogger("hub.tickets")

Channel = Literal["web", "phone", "email", "wechat", "dingtalk", "wecom", "api"]
Priority = Literal["low", "normal", "high", "urgent"]


class TicketCreate(BaseModel):
    """A new ticket as the service desk reports it; mobile or email finds the customer."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"subject": "洗碗机不出水", "description": "开机后不进水", "channel": "web",
                      "contact_name": "王芳", "mobile": "13812345678", "priority": "high"}]})

    subject: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=20000)
    channel: Channel = "api"
    contact_name: str | None = Field(default=None, max_length=200)
    mobile: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    category: str | None = Field(default=None, max_length=64)
    priority: Priority = "normal"
    external_ref: str | None = Field(default=None, max_length=200)

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        if not value:
            return None
        normalized = normalize_mobile(value)
        if normalized is None:
            raise ValueError(f"'{value}' is not a valid mainland China mobile number")
        return normalized

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.lower()
        if "@" not in value or "." not in value.rsplit("@", 1)[1]:
            raise ValueError(f"'{value}' is not an email address")
        return value


_TICKET_EXAMPLE: dict[str, Any] = {
    "id": 42, "subject": "洗碗机不出水", "description": "开机后不进水", "channel": "web",
    "status": "open", "contact_name": "王芳", "contact_mobile": "13812345678",
    "contact_email": None, "customer_id": 7, "enrichment_status": "enriched",
    "enrichment_error": None, "enriched_at": "2026-05-01T08:00:02Z",
    "created_at": "2026-05-01T08:00:00Z", "category": "维修", "priority": "high",
    "external_ref": None, "customer": {"id": 7, "name": "王芳", "tier": "vip"},
    "history": {"orders": [], "interactions": []},
    "summary": {"orders": 0, "total_spent": "0", "last_order_at": None, "interactions": 0},
    "sources": [{"connection": "crm", "status": "ok",
                 "fetched_at": "2026-05-01T08:00:02Z"}],
    "resolved_at": None, "resolution": None, "writebacks": [], "kb": None,
}


class TicketPublic(BaseModel):
    """A ticket as the API shows it, enriched with the customer's profile and history."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TICKET_EXAMPLE]})

    id: int
    subject: str
    description: str
    channel: str
    status: str
    contact_name: str | None
    contact_mobile: str | None
    contact_email: str | None
    customer_id: int | None
    enrichment_status: str
    enrichment_error: str | None
    enriched_at: UtcDatetime | None
    created_at: UtcDatetime
    category: str | None = None
    priority: str = "normal"
    external_ref: str | None = None
    customer: dict[str, Any] | None = None
    history: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    sources: list[dict[str, Any]] = Field(default_factory=list)
    resolved_at: UtcDatetime | None = None
    resolution: dict[str, Any] | None = Field(
        default=None, description="The last resolution: note, refund, parts, solution.")
    writebacks: list[dict[str, Any]] = Field(
        default_factory=list, description="What the resolution owes other systems, through "
        "the outbox: action, connection, key, status (pending, done, dead), step, the "
        "vendor's document number once written, and the vendor's error if it refused.")
    kb: list[dict[str, Any]] | None = Field(
        default=None, description="With ?expand=kb: the knowledge-base articles best matching "
        "the ticket (id, title, url, score 0..1, snippet with matches in 【】, labels).")

    @classmethod
    def of(cls, ticket: Ticket) -> TicketPublic:
        return cls(**_public_fields(ticket))


def _public_fields(ticket: Ticket) -> dict[str, Any]:
    """A ticket's fields as TicketPublic shows them (in its order): for `TicketPublic.of`,
    and for `_public_json` on the read path, which skips the model."""
    enrichment = ticket.enrichment or {}
    return {
        "id": ticket.id, "subject": ticket.subject, "description": ticket.description,
        "channel": ticket.channel, "status": ticket.status,
        "contact_name": ticket.contact_name, "contact_mobile": ticket.contact_mobile,
        "contact_email": ticket.contact_email, "customer_id": ticket.customer_id,
        "enrichment_status": ticket.enrichment_status,
        "enrichment_error": ticket.enrichment_error, "enriched_at": ticket.enriched_at,
        "created_at": ticket.created_at, "category": ticket.category,
        "priority": ticket.priority or "normal", "external_ref": ticket.external_ref,
        "customer": enrichment.get("customer"), "history": enrichment.get("history"),
        "summary": enrichment.get("summary"), "sources": enrichment.get("sources", []),
        "resolved_at": ticket.resolved_at, "resolution": ticket.resolution,
    }


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
                    contact_mobile=data.mobile, contact_email=data.email,
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


EXPANDABLE = ("customer", "orders", "history", "kb")  # customer/orders/history: always there


@dataclass(frozen=True, slots=True)
class VersionedTicket:
    """A ticket and its version: a strong ETag that changes with any change to the ticket
    row (fields, enrichment, resolution) or to the state of its write-backs."""

    ticket: TicketPublic
    etag: str


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):  # SQLite hands zone-less UTC back: one spelling for both
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return str(value)


def _etag(ticket: Ticket, writebacks: list[dict[str, Any]]) -> str:
    """The ETag of `ticket` as stored: its row read again in the ticket's session (so inside
    the caller's transaction) and hashed as `get_versioned_ticket` hashes it."""
    session = object_session(ticket)
    if session is None:
        raise ValueError(f"ticket {ticket.id} is in no session")
    connection = session.connection()
    raw = _fetch_row(connection.connection, connection.dialect, ticket.id)
    if raw is None:
        raise NotFoundError(f"no ticket {ticket.id}")
    return _version(raw, writebacks)


def _version(raw: Sequence[Any], writebacks: list[dict[str, Any]]) -> str:
    """A strong ETag: a hash of the row's values as the driver returns them (JSON columns
    still text on SQLite: hashing is then far cheaper than encoding them again) and of its
    write-backs. Each value goes in typed and UTF-8 or hex, joined by 0xFF, a byte no part
    contains: no two rows hash the same text by shifting it from one column to the next."""
    parts = [b"s" + value.encode() if type(value) is str else b"n" if value is None
             else _version_part(value) for value in raw]
    parts.append(_version_part(writebacks) if writebacks else b"j[]")
    return '"' + hashlib.blake2b(b"\xff".join(parts), digest_size=12).hexdigest() + '"'


def _version_part(value: Any) -> bytes:
    kind = type(value)
    if kind is int or kind is float:
        return b"r" + repr(value).encode()
    if kind is bytes:
        return b"b" + bytes(value).hex().encode()
    # JSON a driver decoded, datetimes, decimals: one spelling on every driver
    return b"j" + json.dumps(value, default=_json_default, sort_keys=True,
                             ensure_ascii=False).encode()


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


def get_ticket(hub: Hub, ticket_id: int, *, expand: Collection[str] = ()) -> TicketPublic:
    """The ticket, enriched; with `expand` containing "kb", the best-matching articles too."""
    return get_versioned_ticket(hub, ticket_id, expand=expand).ticket


def get_versioned_ticket(hub: Hub, ticket_id: int, *, expand: Collection[str] = ()
                         ) -> VersionedTicket:
    """`get_ticket` with the ticket's ETag (which the kb suggestions are no part of)."""
    _check_expand(expand)
    raw, row = _read_row(hub, ticket_id)
    if row.resolutions:  # write-backs too: the row again, with them, in one transaction
        public, etag = _read_with_writebacks(hub, ticket_id)
    else:
        public, etag = TicketPublic.of(row), _version(raw, [])
    if "kb" in expand:
        from hub.kb import suggest_for_ticket

        hits = suggest_for_ticket(hub, public.subject, public.description, public.category)
        public.kb = [{"id": hit.id, "title": hit.title, "url": hit.url,
                      "score": hit.score, "snippet": hit.snippet, "labels": hit.labels}
                     for hit in hits]
    return VersionedTicket(public, etag)


def _check_expand(expand: Collection[str]) -> None:
    unknown = sorted(set(expand) - set(EXPANDABLE))
    if unknown:
        raise InvalidRequestError(f"cannot expand {', '.join(unknown)}; "
                                  f"expandable: {', '.join(EXPANDABLE)}")


def _read_row(hub: Hub, ticket_id: int, reader: TicketReader | None = None
              ) -> tuple[tuple[Any, ...], Any]:
    """The ticket's row, raw (for its version) and processed (a Ticket's attributes).

    The agent's click path: one SELECT by primary key on a DB-API connection, `reader`'s or
    a pooled one. A Core read costs several times more, nearly all of it in the Connection,
    its transaction and result machinery, none of which one atomic SELECT needs."""
    engine = hub.engine
    if reader is not None:
        raw = reader.fetch(ticket_id)
    else:
        connection = engine.raw_connection()
        try:
            raw = _fetch_row(connection, engine.dialect, ticket_id)
        finally:
            connection.close()  # back to the pool, which ends the driver's transaction
    if raw is None:
        raise NotFoundError(f"no ticket {ticket_id}")
    return raw, _ticket_row(engine.dialect, raw)


class TicketReader:
    """A pooled DB-API connection held for ticket reads on one thread: the API's event loop,
    where checking one out and in again per request costs a third of the read.

    Each read ends the driver's transaction (PostgreSQL's driver opens one), so no snapshot
    outlives a read and every read sees the latest commit, whichever process made it. A read
    that fails on the held connection (a server that dropped it while idle) gives it back to
    the pool, which drops a broken one, and is tried once more on a fresh one. One thread
    only; `close()` before the engine is disposed.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Any = None

    def fetch(self, ticket_id: int) -> tuple[Any, ...] | None:
        while True:
            fresh = self._connection is None
            if fresh:
                self._connection = self._engine.raw_connection()
            try:
                raw = _fetch_row(self._connection, self._engine.dialect, ticket_id)
                self._connection.rollback()
                return raw
            except Exception:
                self.close()
                if fresh:
                    raise

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


@dataclass(frozen=True, slots=True)
class VersionedJson:
    """`VersionedTicket` serialized: the body of `GET /tickets/{id}` and its ETag."""

    body: bytes
    etag: str


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
    raw, row = _read_row(hub, ticket_id, reader)
    if row.resolutions:
        public, etag = _read_with_writebacks(hub, ticket_id)
        return VersionedJson(public.model_dump_json().encode(), etag)
    body = _public_json(row)
    if body is None:  # a value orjson cannot write as the model would: let the model do it
        body = TicketPublic.of(row).model_dump_json().encode()
    return VersionedJson(body, _version(raw, []))


def _public_json(ticket: Any) -> bytes | None:
    """TicketPublic's JSON for a ticket without write-backs or kb suggestions, as the
    model writes it (datetimes in UTC with `Z`; naive ones are UTC)."""
    try:
        return orjson.dumps({**_public_fields(ticket), "writebacks": [], "kb": None},
                            option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)
    except TypeError:  # e.g. an integer beyond 64 bits
        return None


def _loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN, or an integer beyond 64 bits: Python's json reads them
        return json.loads(text)


def _read_with_writebacks(hub: Hub, ticket_id: int) -> tuple[TicketPublic, str]:
    from hub.tickets.resolve import ticket_writebacks

    with hub.engine.connect().execution_options(read_only=True) as connection, \
            connection.begin():
        raw = _fetch_row(connection.connection, connection.dialect, ticket_id)
        if raw is None:
            raise NotFoundError(f"no ticket {ticket_id}")
        with Session(bind=connection) as session:
            writebacks = ticket_writebacks(session, ticket_id)
    public = TicketPublic.of(_ticket_row(connection.dialect, raw))
    public.writebacks = writebacks
    return public, _version(raw, writebacks)


@dataclass(frozen=True, slots=True)
class _RowRead:
    """`SELECT * FROM tickets WHERE id = :ticket_id` compiled for one dialect, and the
    columns' own result processors (the values a Core or ORM read would give)."""

    sql: str
    positional: bool
    processors: tuple[Callable[[Any], Any] | None, ...]


# A row with a Ticket's attributes, all a reader of one needs.
_TicketRow = namedtuple(  # type: ignore[misc]  # noqa: PYI024
    "_TicketRow", [column.key for column in Ticket.__table__.columns])
_ROW_READS: weakref.WeakKeyDictionary[Dialect, _RowRead] = weakref.WeakKeyDictionary()


def _row_read(dialect: Dialect) -> _RowRead:
    read = _ROW_READS.get(dialect)
    if read is None:
        table = Ticket.__table__
        compiled = select(table).where(table.c.id == bindparam("ticket_id")).compile(
            dialect=dialect)
        processors = tuple(_processor(column, dialect) for column in table.columns)
        read = _ROW_READS[dialect] = _RowRead(compiled.string, compiled.positional, processors)
    return read


def _processor(column: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    process: Callable[[Any], Any] | None = column.type.dialect_impl(dialect).result_processor(
        dialect, None)
    if process is not None and isinstance(column.type, JSON) and \
            getattr(dialect, "_json_deserializer", None) is None:
        return _loads  # the dialect's default, json.loads, only faster
    return process


def _fetch_row(connection: Any, dialect: Dialect, ticket_id: int) -> tuple[Any, ...] | None:
    """The ticket's row as the driver returns it, on a DB-API `connection`."""
    read = _row_read(dialect)
    cursor = connection.cursor()
    try:
        cursor.execute(read.sql, (ticket_id,) if read.positional else {"ticket_id": ticket_id})
        values = cursor.fetchone()
    finally:
        cursor.close()
    return None if values is None else tuple(values)


def _ticket_row(dialect: Dialect, raw: Sequence[Any]) -> Any:
    processors = _row_read(dialect).processors
    return _TicketRow(*[value if process is None or value is None else process(value)
                        for process, value in zip(processors, raw, strict=True)])


def list_tickets(hub: Hub, *, limit: int = 50) -> list[TicketPublic]:
    with hub.sessions() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(limit))
        return [TicketPublic.of(t) for t in tickets]


TicketStatus = Literal["open", "pending", "closed"]
_EDITABLE_STATUSES = frozenset(get_args(TicketStatus))


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class TicketUpdate(BaseModel):
    """The fields an agent may change; absent fields stay as they are. Resolving is
    `POST /tickets/{id}/resolve` (it owes write-backs), not a status change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"priority": "high", "status": "pending"}]})

    # Absent: unchanged (None here); null is refused except for the category (it clears it),
    # so the document shows these four without null and without a default.
    subject: str = Field(default=None, min_length=1, max_length=500,  # type: ignore[assignment]
                         json_schema_extra=_no_default)
    description: str = Field(default=None, max_length=20000,  # type: ignore[assignment]
                             json_schema_extra=_no_default)
    category: str | None = Field(default=None, max_length=64,
                                 description="null clears the category")
    priority: Priority = Field(default=None,  # type: ignore[assignment]
                               json_schema_extra=_no_default)
    status: TicketStatus = Field(default=None,  # type: ignore[assignment]
                                 json_schema_extra=_no_default)


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
        current = _etag(ticket, writebacks)
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
            hub.audit.append(session, [AuditEntry(actor, "ticket.update", f"ticket:{ticket_id}",
                                                  detail=detail)])
    return changed


class TicketFilter(BaseModel):
    """What `GET /tickets` narrows the list to; every given condition must hold."""

    status: list[str] | None = None
    customer_id: int | None = None
    category: str | None = None
    priority: str | None = None
    channel: str | None = None
    created_since: datetime | None = None
    created_until: datetime | None = None
    q: str | None = Field(default=None, description="the subject contains this (any case)")


class TicketPage(BaseModel):
    """One page of tickets, newest first; `next_cursor` fetches the next (null: no more)."""

    model_config = ConfigDict(json_schema_extra={
        "examples": [{"items": [_TICKET_EXAMPLE], "next_cursor": "dDE6NDI"}]})

    items: list[TicketPublic]
    next_cursor: str | None = None


_CURSOR_PREFIX = "t1:"


def _encode_cursor(ticket_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{ticket_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith(_CURSOR_PREFIX):
            return int(text[len(_CURSOR_PREFIX):])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidRequestError("cursor is not one this API gave out; start again without it")


def _utc(moment: datetime) -> datetime:
    # Stored zone-less in SQLite: compare in UTC either way.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


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
        query = query.where(Ticket.created_at >= _utc(filters.created_since))
    if filters.created_until is not None:
        query = query.where(Ticket.created_at < _utc(filters.created_until))
    if filters.q:
        escaped = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Ticket.subject.ilike(f"%{escaped}%", escape="\\"))
    if cursor:
        query = query.where(Ticket.id < _decode_cursor(cursor))
    with hub.sessions() as session:
        rows = list(session.scalars(query.order_by(Ticket.id.desc()).limit(limit + 1)))
        items = [TicketPublic.of(ticket) for ticket in rows[:limit]]
    next_cursor = _encode_cursor(items[-1].id) if len(rows) > limit else None
    return TicketPage(items=items, next_cursor=next_cursor)
