"""The fast read path of a ticket: one SELECT by primary key on a DB-API connection, the row
raw (for its version, the strong ETag) and processed (a Ticket's attributes); TicketReader
holds a connection for the API's event loop."""

from __future__ import annotations

import hashlib
import json
import weakref
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Dialect, Engine, bindparam, select
from sqlalchemy.orm import object_session

from hub.core.time import as_utc
from hub.errors import NotFoundError
from hub.runtime import Hub
from hub.store.models import Ticket
from hub.tickets.schemas import public_fields

__all__ = ["TicketReader", "fetch_row", "public_json", "read_row", "row_version",
           "stored_etag", "ticket_row"]


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):  # SQLite hands zone-less UTC back: one spelling for both
        return as_utc(value).isoformat()
    return str(value)


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
    return row_version(raw, writebacks)


def row_version(raw: Sequence[Any], writebacks: list[dict[str, Any]]) -> str:
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

def read_row(hub: Hub, ticket_id: int, reader: TicketReader | None = None
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
            raw = fetch_row(connection, engine.dialect, ticket_id)
        finally:
            connection.close()  # back to the pool, which ends the driver's transaction
    if raw is None:
        raise NotFoundError(f"no ticket {ticket_id}")
    return raw, ticket_row(engine.dialect, raw)


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
