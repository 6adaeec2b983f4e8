"""The fast read path of a ticket: one SELECT by primary key on a DB-API connection, the row
as a Ticket's attributes, its body written without the model and the body's hash for its
strong ETag; TicketReader holds a connection for the API's event loop."""

from __future__ import annotations

import hashlib
import json
import weakref
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import JSON, Dialect, Engine, bindparam, select
from sqlalchemy.orm import object_session

from hub.enrichment.stored import VIEW_MARK
from hub.errors import NotFoundError
from hub.runtime import Hub
from hub.store.models import Ticket
from hub.tickets.schemas import TicketPublic, public_fields

__all__ = ["TicketReader", "body_etag", "fetch_row", "has_writebacks", "public_json",
           "read_raw", "read_row", "stored_etag", "ticket_body", "ticket_row"]


def stored_etag(ticket: Ticket, writebacks: list[dict[str, Any]]) -> str:
    """The ETag of `ticket` as stored: its row read again in the ticket's session (so inside
    the caller's transaction) and hashed as `get_versioned_ticket` hashes it."""
    session = object_session(ticket)
    if session is None:
        raise ValueError(f"ticket {ticket.id} is in no session")
    connection = session.connection()
    raw = fetch_row(connection.connection, connection.dialect, ticket.id)
    if raw is None:
        raise NotFoundError(f"no ticket {ticket.id}")
    return body_etag(ticket_body(connection.dialect, raw, writebacks))


def ticket_body(dialect: Dialect, raw: Sequence[Any], writebacks: list[dict[str, Any]]
                ) -> bytes:
    """TicketPublic's JSON for the row as the driver returned it and its write-backs,
    without kb suggestions: what `GET /tickets/{id}` answers and what its ETag hashes. One
    function for every path, so the GET, its 304 and PATCH's If-Match check hash the same
    bytes."""
    if not writebacks:
        body = _spliced_json(dialect, raw)
        if body is None:
            body = public_json(ticket_row(dialect, raw))
        if body is not None:
            return body
    # write-backs, or a value orjson cannot write as the model would: the model writes it
    return TicketPublic.of(ticket_row(dialect, raw), writebacks=writebacks
                           ).model_dump_json().encode()


def body_etag(body: bytes) -> str:
    """A strong ETag: a hash of the representation itself (RFC 9110 8.8.3), so it changes
    exactly when the answer does, whatever column or write-back changed it; hashing the
    bytes already written costs a fraction of re-reading the row's values (SHA-256: the
    fastest of hashlib's on CPUs with SHA extensions)."""
    return '"' + hashlib.sha256(body).hexdigest()[:24] + '"'


def has_writebacks(dialect: Dialect, raw: Sequence[Any]) -> bool:
    """Whether the row says its ticket was ever resolved (so may have write-backs)."""
    return bool(raw[_row_read(dialect).resolutions_at])


# The enrichment as `stored_enrichment` keeps it, written by the store's JSON serializer
# (compact, UTF-8: hub.core.jsonable.json_text) and read as text (SQLite): its parts are
# the answer's customer, history, summary and sources as the answer writes them.
_VIEW_START = '{"customer":'
_VIEW_END = orjson.dumps({"": 0, VIEW_MARK: 1}).decode().removeprefix('{"":0')
_NO_ENRICHMENT = b'"customer":null,"history":null,"summary":null,"sources":[]'


def _spliced_json(dialect: Dialect, raw: Sequence[Any]) -> bytes | None:
    """`public_json` of a row whose enrichment is stored in the view's shape and read as
    text, without decoding that text and writing it again (most of the body, and most of
    the read's cost): the rest of the row is written with the parts left empty, and the
    stored parts put in their place. None for any other row."""
    read = _row_read(dialect)
    text = raw[read.enrichment_at]
    if type(text) is not str or not text.startswith(_VIEW_START) or \
            not text.endswith(_VIEW_END):
        return None
    rest = list(raw)
    rest[read.enrichment_at] = None
    body = public_json(ticket_row(dialect, rest))
    # A key's quotes inside a string value are escaped: the first match is the fields'.
    if body is None or _NO_ENRICHMENT not in body:
        return None
    return body.replace(_NO_ENRICHMENT, text[1:-len(_VIEW_END)].encode(), 1)


def read_raw(hub: Hub, ticket_id: int, reader: TicketReader | None = None
             ) -> tuple[Any, ...]:
    """The ticket's row as the driver returns it.

    The agent's click path: one SELECT by primary key on a DB-API connection, `reader`'s or
    a pooled one. A Core read costs several times more, nearly all of it in the Connection,
    its transaction and result machinery, none of which one atomic SELECT needs."""
    engine = hub.engine
    if reader is not None:
        raw = reader.fetch(ticket_id)
    else:
        connection = engine.raw_connection()
        try:
            raw = fetch_row(connection, engine.dialect, ticket_id)
        finally:
            connection.close()  # back to the pool, which ends the driver's transaction
    if raw is None:
        raise NotFoundError(f"no ticket {ticket_id}")
    return raw


def read_row(hub: Hub, ticket_id: int, reader: TicketReader | None = None) -> Any:
    """The ticket's row, as a Ticket's attributes."""
    return ticket_row(hub.engine.dialect, read_raw(hub, ticket_id, reader))


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
        self._read = _row_read(engine.dialect)
        self._connection: Any = None  # the pool's proxy, given back by close()
        self._driver: Any = None  # the DB-API connection in it, called without the proxy

    def fetch(self, ticket_id: int) -> tuple[Any, ...] | None:
        while True:
            fresh = self._connection is None
            if fresh:
                self._connection = self._engine.raw_connection()
                self._driver = self._connection.dbapi_connection
            try:
                raw = _fetch(self._driver, self._read, ticket_id)
                self._driver.rollback()
                return raw
            except Exception:
                self.close()
                if fresh:
                    raise

    def close(self) -> None:
        connection, self._connection, self._driver = self._connection, None, None
        if connection is not None:
            connection.close()

def public_json(ticket: Any) -> bytes | None:
    """TicketPublic's JSON for a ticket without write-backs or kb suggestions, as the
    model writes it (datetimes in UTC with `Z`; naive ones are UTC)."""
    try:
        return orjson.dumps({**public_fields(ticket), "writebacks": [], "kb": None},
                            option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)
    except TypeError:  # e.g. an integer beyond 64 bits
        return None


def _loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN, or an integer beyond 64 bits: Python's json reads them
        return json.loads(text)


@dataclass(frozen=True, slots=True)
class _RowRead:
    """`SELECT * FROM tickets WHERE id = :ticket_id` compiled for one dialect, and the
    columns' own result processors (the values a Core or ORM read would give)."""

    sql: str
    positional: bool
    processors: tuple[Callable[[Any], Any] | None, ...]
    enrichment_at: int
    resolutions_at: int


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
        keys = [column.key for column in table.columns]
        read = _ROW_READS[dialect] = _RowRead(
            compiled.string, compiled.positional, processors,
            enrichment_at=keys.index("enrichment"), resolutions_at=keys.index("resolutions"))
    return read


def _processor(column: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    process: Callable[[Any], Any] | None = column.type.dialect_impl(dialect).result_processor(
        dialect, None)
    if process is not None and isinstance(column.type, JSON) and \
            getattr(dialect, "_json_deserializer", None) is None:
        return _loads  # the dialect's default, json.loads, only faster
    return process


def fetch_row(connection: Any, dialect: Dialect, ticket_id: int) -> tuple[Any, ...] | None:
    """The ticket's row as the driver returns it, on a DB-API `connection`."""
    return _fetch(connection, _row_read(dialect), ticket_id)


def _fetch(connection: Any, read: _RowRead, ticket_id: int) -> tuple[Any, ...] | None:
    cursor = connection.cursor()
    try:
        cursor.execute(read.sql, (ticket_id,) if read.positional else {"ticket_id": ticket_id})
        values = cursor.fetchone()
    finally:
        cursor.close()
    return None if values is None else tuple(values)


def ticket_row(dialect: Dialect, raw: Sequence[Any]) -> Any:
    processors = _row_read(dialect).processors
    return _TicketRow(*[value if process is None or value is None else process(value)
                        for process, value in zip(processors, raw, strict=True)])
