"""Customers in the store: upserts by natural key, lookups by contact, the profile view."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import ARRAY, Connection, String, Table, any_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from hub.core.attributes import kept_attributes
from hub.core.jsonable import json_text, to_jsonable
from hub.store.models import Customer, ExternalRecord
from hub.store.rows import RowStatement, stamp

__all__ = ["Created", "UpsertResult", "customer_profile", "find_by_contact", "upsert_customers",
           "upsert_external_records"]

COLUMNS = ("name", "company", "mobile", "email", "tier")


@dataclass(frozen=True, slots=True)
class Created:
    """A row a pull inserted or updated (a customer; a ticket, by its external_ref): what
    its audit row names."""

    id: int
    source: str
    external_id: str


@dataclass
class UpsertResult:
    created: list[Created] = field(default_factory=list)
    updated: list[tuple[Created, list[str]]] = field(default_factory=list)
    unchanged: int = 0


_TABLE: Table = Customer.__table__  # type: ignore[assignment]
_RAW: Table = ExternalRecord.__table__  # type: ignore[assignment]
_SKIP = frozenset((*COLUMNS, "external_id"))
_WRITTEN = ("source", "external_id", *COLUMNS, "attributes", "content_hash", "mapping",
            "created_at", "updated_at")
_INSERT = RowStatement(_TABLE, _WRITTEN)
_UPDATE = RowStatement(_TABLE, (*COLUMNS, "attributes", "content_hash", "mapping",
                                "updated_at"), update_by_id=True)
_REHASH = RowStatement(_TABLE, ("content_hash",), update_by_id=True)
_RAW_INSERT = RowStatement(_RAW, ("source", "stream", "external_id", "payload",
                                  "content_hash", "fetched_at"))
_RAW_UPDATE = RowStatement(_RAW, ("payload", "content_hash", "fetched_at"), update_by_id=True)
_CHUNK = 1000  # keys per IN (…) lookup


@dataclass(frozen=True, slots=True)
class _Row:
    """A mapped customer, ready to write: its column values, its attributes as the JSON text
    stored, and its content hash."""

    columns: tuple[Any, ...]
    document: str
    digest: str

    @property
    def attributes(self) -> dict[str, Any]:
        return orjson.loads(self.document)  # type: ignore[no-any-return]


def _decimal(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError


def _prepare(entity: dict[str, Any]) -> _Row:
    get = entity.get
    columns = (get("name"), get("company"), get("mobile"), get("email"), get("tier"))
    attributes = kept_attributes(entity, _SKIP)
    try:  # orjson writes datetimes and dates as isoformat() does (to_jsonable)
        document = orjson.dumps(attributes, default=_decimal).decode()
    except TypeError:  # keys other than strings, integers beyond 64 bits
        document = json_text(to_jsonable(attributes))
    text = "\x1f".join([*(repr(value) for value in columns), document])
    return _Row(columns, document, hashlib.sha256(text.encode()).hexdigest())


def _stored(connection: Connection, table: Table, keys: list[str], *where: Any
            ) -> dict[str, tuple[Any, ...]]:
    """external_id → (id, content_hash, …) of the rows stored for `keys`."""
    found: dict[str, tuple[Any, ...]] = {}
    columns = [table.c.id, table.c.content_hash]
    if table is _TABLE:
        columns.append(table.c.mapping)
    postgres = connection.dialect.name == "postgresql"
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        # PostgreSQL: one array parameter, not a thousand (each converted, and planned)
        match = table.c.external_id == any_(bindparam("keys", chunk, type_=ARRAY(String))) \
            if postgres else table.c.external_id.in_(chunk)
        for row in connection.execute(select(table.c.external_id, *columns).where(
                *where, match)):
            found[row[0]] = tuple(row[1:])
    return found


def upsert_customers(session: Session, source: str, entities: Sequence[dict[str, Any]], *,
                     mapping: str | None = None) -> UpsertResult:
    """Insert new customers, update changed ones, skip identical ones (by content hash).

    `mapping` (`name@version`) is recorded on every row written. One SELECT of the page's
    keys, then one driver-level INSERT and UPDATE (rows.py), and one SELECT of the new rows'
    ids. A row whose hash differs (written by an older hash, or an import) is compared field
    by field: equal, it only gets the new hash and counts as unchanged.
    """
    result = UpsertResult()
    latest = {str(e["external_id"]): _prepare(e) for e in entities}  # a page may repeat one
    session.flush()  # the session's own pending rows first
    connection = session.connection()
    stored = _stored(connection, _TABLE, list(latest), _TABLE.c.source == source)
    now = datetime.now(UTC)
    at = stamp(connection, _TABLE, "updated_at", now)
    inserts, suspects = [], []
    for external_id, row in latest.items():
        found = stored.get(external_id)
        if found is None:
            inserts.append((source, external_id, *row.columns, row.document, row.digest,
                            mapping, at, at))
        elif found[1] == row.digest and found[2] == mapping:
            result.unchanged += 1
        else:
            suspects.append(found[0])
    result.created = _insert(connection, source, inserts)
    if suspects:
        _update_changed(session, connection, source, latest, suspects, mapping, at, result)
    return result


def _insert(connection: Connection, source: str, rows: list[tuple[Any, ...]]
            ) -> list[Created]:
    """Insert `rows`; the new rows' ids. SQLite gives a write transaction's new rows
    max(id) + 1, + 2, … in the order inserted: when the maximum moved by exactly the rows'
    count, those are their ids. Otherwise (PostgreSQL's sequences) they are looked up."""
    if not rows:
        return []
    keys = [row[1] for row in rows]
    if connection.dialect.name == "sqlite":
        highest = select(func.max(_TABLE.c.id))
        before = connection.execute(highest).scalar() or 0
        _INSERT.run(connection, rows)
        if connection.execute(highest).scalar() == before + len(rows):
            return [Created(before + n, source, key) for n, key in enumerate(keys, 1)]
    else:
        _INSERT.run(connection, rows)
    ids = _stored(connection, _TABLE, keys, _TABLE.c.source == source)
    return [Created(ids[key][0], source, key) for key in keys]


def _update_changed(session: Session, connection: Connection, source: str,
                    latest: dict[str, _Row], ids: list[int], mapping: str | None, at: Any,
                    result: UpsertResult) -> None:
    table = _TABLE
    updates, rehashed = [], []
    for start in range(0, len(ids), _CHUNK):
        for current in connection.execute(select(
                table.c.id, table.c.external_id, *(table.c[name] for name in COLUMNS),
                table.c.attributes, table.c.mapping).where(
                table.c.id.in_(ids[start:start + _CHUNK]))):
            row = latest[current.external_id]
            stored, attributes = current.attributes or {}, row.attributes
            changed = [name for name, value in zip(COLUMNS, row.columns, strict=True)
                       if current._mapping[name] != value]
            changed += sorted(k for k in set(attributes) | set(stored)
                              if stored.get(k) != attributes.get(k))
            if current.mapping != mapping:
                changed.append("mapping")
            if not changed:  # the same content under another hash: keep the new one
                rehashed.append((row.digest, current.id))
                result.unchanged += 1
                continue
            updates.append((*row.columns, row.document, row.digest, mapping, at, current.id))
            result.updated.append((Created(current.id, source, current.external_id), changed))
    _UPDATE.run(connection, updates)
    _REHASH.run(connection, rehashed)
    for row_id in ids:  # a Customer this session loaded before is stale now
        loaded = session.identity_map.get(session.identity_key(Customer, row_id))
        if loaded is not None:
            session.expire(loaded)


def upsert_external_records(session: Session, *, source: str, stream: str, key: str,
                            records: Sequence[dict[str, Any]]) -> None:
    """Keep the latest raw payload of each record, as the source sent it."""
    latest: dict[str, str] = {}
    for record in records:
        external_id = record.get(key)
        if external_id is not None:
            latest[str(external_id)] = json_text(record)
    session.flush()
    connection = session.connection()
    stored = _stored(connection, _RAW, list(latest), _RAW.c.source == source,
                     _RAW.c.stream == stream)
    at = stamp(connection, _RAW, "fetched_at", datetime.now(UTC))
    inserts, updates = [], []
    for external_id, text in latest.items():
        digest = hashlib.sha256(text.encode()).hexdigest()
        found = stored.get(external_id)
        if found is None:
            inserts.append((source, stream, external_id, text, digest, at))
        elif found[1] != digest:
            updates.append((text, digest, at, found[0]))
    _RAW_INSERT.run(connection, inserts)
    _RAW_UPDATE.run(connection, updates)
    if session.identity_map:  # a record this session loaded before is stale now
        for *_values, row_id in updates:
            loaded = session.identity_map.get(session.identity_key(ExternalRecord, row_id))
            if loaded is not None:
                session.expire(loaded)


def find_by_contact(session: Session, *, mobile: str | None, email: str | None
                    ) -> Customer | None:
    conditions = []
    if mobile:
        conditions.append(Customer.mobile == mobile)
    if email:
        conditions.append(Customer.email == email)
    if not conditions:
        return None
    found = session.scalars(select(Customer).where(or_(*conditions))
                            .order_by(Customer.updated_at.desc())).all()
    # A mobile match outranks an email match.
    for customer in found:
        if mobile and customer.mobile == mobile:
            return customer
    return found[0] if found else None


def customer_profile(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "source": customer.source,
        "external_id": customer.external_id,
        "name": customer.name,
        "company": customer.company,
        "mobile": customer.mobile,
        "email": customer.email,
        "tier": customer.tier,
        "mapping": customer.mapping,
        "attributes": customer.attributes or {},
    }
