"""How an import writes its rows: customers (by source + external_id) and tickets (by
external_ref), a batch at a time.

Each writer upserts one batch by natural key: one SELECT for the batch's keys, then one
driver-level INSERT and one UPDATE (see bulk.py). A key met twice in a file updates the row
the first occurrence wrote, so re-running never duplicates.

A batch is first *prepared* (`prepare`: mapped entities → column values and fingerprints,
no database: it may run in another process) and then *stored* (`store`). With a `KeyMemory`
(keys.py) the SELECT asks only for the keys that may be stored already: none when the table
held no row of the import's kind when it started and nobody else has inserted since.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from hub.core.attributes import ATTRIBUTES_KEY, kept_attributes
from hub.core.jsonable import canonical_json, compact_encoder, to_jsonable
from hub.core.time import as_utc
from hub.mapping.columnar import MappedColumns, nested_entity

from ..store.models import Customer, Ticket
from ._documents import column_documents, documents_of
from .bulk import BulkCopy, BulkStatement
from .keys import KeyMemory

__all__ = ["BatchCounts", "BulkWriter", "CustomerWriter", "Prepared", "TicketWriter"]

_CHUNK = 1000


@dataclass
class BatchCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class Prepared:
    """One batch's rows, ready to store: key → (values, fingerprint), the values in the
    writer's `columns()` order (a tuple: cheap to send to another process), the later row of a
    key winning; `replaced`: key → the fingerprints of the rows it replaced, in order."""

    pending: dict[str, tuple[tuple[Any, ...], str]]
    replaced: dict[str, list[str]]
    now: datetime


_ENCODER = compact_encoder(sort_keys=False)
# keys sorted: what a ticket stores is compared with what JSONB gives back (keys reordered)
_CANONICAL = canonical_json
_JSON_NATIVE = frozenset({str, int, float, bool, type(None)})
_CUSTOMER_SKIP = frozenset({"external_id", "name", "company", "mobile", "email", "tier"})


def _jsonable(value: Any) -> Any:
    if type(value) is Decimal:
        return str(value)
    if type(value) is date or type(value) is datetime:
        return value.isoformat()
    return to_jsonable(value)


class BulkWriter(ABC):
    """Writes the batches of one entity an import lands. Subclasses name the key field and
    the columns."""

    name: ClassVar[str]
    key_field: ClassVar[str]  # the mapped field holding the natural key
    required_fields: ClassVar[tuple[str, ...]]
    table: ClassVar[Table]

    def __init__(self, connection: Connection | None = None) -> None:
        """Without a connection the writer only prepares batches (`prepare`)."""
        if connection is None:
            return
        self.connection = connection
        columns = self.columns()
        assert columns[-2:] == ["created_at", "updated_at"]  # see store()
        raw = frozenset((*self.raw_columns, "created_at", "updated_at"))  # see write()
        self._insert = BulkStatement(connection, insert(self.table).inline().values(
            {name: bindparam(name) for name in columns}), raw=raw)
        updated = [name for name in columns if name not in ("created_at",)]
        self._update = BulkStatement(connection, update(self.table).where(
            self.table.c.id == bindparam("row_id")).values(
            {name: bindparam(f"v_{name}") for name in updated}),
            raw=frozenset(f"v_{name}" for name in raw))
        self._updated_columns = [(name, columns.index(name)) for name in updated]
        # PostgreSQL: new rows by COPY (updates stay an executemany)
        self._copy = BulkCopy(connection, self.table, columns) \
            if BulkCopy.available(connection) else None

    def memory(self, *, source: str) -> KeyMemory:
        """What this import knows of the keys stored (see keys.py), taken as it starts."""
        return KeyMemory.start(self.connection, self.table, empty=self.stored_where(source))

    @classmethod
    @abstractmethod
    def stored_where(cls, source: str) -> Any:
        """The rows an import from `source` could match by key."""

    @classmethod
    @abstractmethod
    def columns(cls) -> list[str]:
        """The columns a row writes (besides the primary key)."""

    @abstractmethod
    def row(self, entity: dict[str, Any], *, source: str, mapping: str,
            now: datetime) -> dict[str, Any]:
        """The column values for a mapped entity."""

    @abstractmethod
    def existing(self, keys: Sequence[str], *, source: str) -> dict[str, tuple[int, str]]:
        """key → (id, fingerprint) of the rows already stored."""

    @abstractmethod
    def fingerprint(self, row: dict[str, Any]) -> str:
        """What decides whether a stored row is unchanged."""

    def write(self, entities: Sequence[dict[str, Any]], *, source: str, mapping: str,
              now: datetime, memory: KeyMemory | None = None) -> BatchCounts:
        return self.store(self.prepare(entities, source=source, mapping=mapping, now=now),
                          source=source, memory=memory)

    def prepare(self, entities: Sequence[dict[str, Any]], *, source: str, mapping: str,
                now: datetime) -> Prepared:
        """The batch's rows and fingerprints: no database (see the module's docstring)."""
        return self._collect(self.batch_values(entities, source=source, mapping=mapping,
                                               now=now), now)

    def prepare_columns(self, names: Sequence[str], columns: Sequence[Sequence[Any]], *,
                        source: str, mapping: str, now: datetime) -> Prepared:
        """`prepare` of the entities these columns hold (one list per field, in `names`
        order, a row per position): what a batch mapped by columns gives."""
        entities = MappedColumns(tuple(names), list(map(list, columns)), []).entities()
        return self.prepare(entities, source=source, mapping=mapping, now=now)

    def _collect(self, rows: Iterable[tuple[tuple[Any, ...], str]],
                 now: datetime) -> Prepared:
        pending: dict[str, tuple[tuple[Any, ...], str]] = {}
        replaced: dict[str, list[str]] = {}
        key_index = self.columns().index(self.key_column)
        for values, fingerprint in rows:
            key = values[key_index]
            previous = pending.get(key)
            if previous is not None:
                replaced.setdefault(key, []).append(previous[1])
            pending[key] = (values, fingerprint)
        return Prepared(pending, replaced, now)

    def batch_values(self, entities: Sequence[dict[str, Any]], *, source: str, mapping: str,
                     now: datetime) -> Iterable[tuple[tuple[Any, ...], str]]:
        """`values` of each entity, in order (a writer may make them a batch at a time)."""
        values_of = self.values
        return (values_of(entity, source=source, mapping=mapping, now=now)
                for entity in entities)

    def values(self, entity: dict[str, Any], *, source: str, mapping: str,
               now: datetime) -> tuple[tuple[Any, ...], str]:
        """A mapped entity's column values, in `columns()` order, and its fingerprint."""
        row = self.row(entity, source=source, mapping=mapping, now=now)
        return tuple(row[name] for name in self.columns()), self.fingerprint(row)

    def store(self, prepared: Prepared, *, source: str,
              memory: KeyMemory | None = None) -> BatchCounts:
        """Insert and update a prepared batch. `memory`: the keys this import wrote, so that
        only those it may have written are looked up (see KeyMemory)."""
        counts, pending, replaced, now = BatchCounts(), prepared.pending, prepared.replaced, \
            prepared.now
        if memory is not None:
            memory.check(self.connection)
            asked = memory.maybe_written(pending)
        else:
            asked = list(pending)
        stored = self.existing(asked, source=source) if asked else {}
        if replaced:
            _count_replaced(counts, replaced, pending, stored)
        stamp = self._stamp(now)  # once per batch, not per row
        inserts, updates = [], []
        for key, (values, fingerprint) in pending.items():
            created = values[-2]  # the columns end with created_at, updated_at
            row = (*values[:-2], stamp if created == now else self._stamp(created), stamp)
            found = stored.get(key)
            if found is None:
                inserts.append(row)
                counts.created += 1
            elif found[1] == fingerprint:
                counts.unchanged += 1
            else:
                update_row = {f"v_{name}": row[index] for name, index in self._updated_columns}
                update_row["row_id"] = found[0]
                updates.append(update_row)
                counts.updated += 1
        if self._copy is not None:
            self._copy.run(inserts)
        else:
            self._insert.run_values(inserts, self.columns())
        self._update.run(updates)
        if memory is not None and memory.fresh:
            memory.update(pending)
            memory.written(self.connection)
        return counts

    def _stamp(self, value: datetime | None) -> Any:
        """A timestamp as the driver gets it; for sqlite3 the text its own datetime adapter
        would make, made here once instead of by the adapter per row."""
        processed = self._insert.process("updated_at", value)
        if type(processed) is datetime and self.connection.dialect.driver == "pysqlite":
            return processed.isoformat(" ")  # what sqlite3's own adapter writes
        return processed

    key_column: ClassVar[str]
    raw_columns: ClassVar[tuple[str, ...]] = ()  # given to the driver as they are (JSON text)
    # Mapped fields that name a column an import never writes: they would be lost.
    dropped_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def conflicts(cls, fields: Sequence[str]) -> list[tuple[str, str]]:
        """What is wrong with a mapping producing `fields` for this target: (field, message)
        for each field it would drop."""
        return [(name, f"field '{name}' names a {cls.name} column an import never writes; "
                       f"rename it (it is then kept in attributes) or remove it")
                for name in fields if name in cls.dropped_fields]


def _count_replaced(counts: BatchCounts, replaced: dict[str, list[str]],
                    pending: dict[str, tuple[Any, str]],
                    stored: dict[str, tuple[int, str]]) -> None:
    """Count the rows a later row of the same key replaced. When the winning row equals what
    is stored, the batch changes nothing for that key: every row of it is unchanged (a forced
    re-import of an unchanged file reports no update). Otherwise each row counts against the
    one before it: unchanged when equal, else updated."""
    for key, fingerprints in replaced.items():
        final = pending[key][1]
        found = stored.get(key)
        if found is not None and found[1] == final:
            counts.unchanged += len(fingerprints)
            continue
        for before, after in zip(fingerprints, [*fingerprints[1:], final], strict=True):
            if before == after:
                counts.unchanged += 1
            else:
                counts.updated += 1


class CustomerWriter(BulkWriter):
    name = "customer"
    key_field = "external_id"
    key_column = "external_id"
    required_fields = ("external_id",)
    table = Customer.__table__  # type: ignore[assignment]
    _COLUMNS = ("name", "company", "mobile", "email", "tier")

    @classmethod
    def columns(cls) -> list[str]:
        return ["source", "external_id", *cls._COLUMNS, "attributes", "content_hash",
                "mapping", "created_at", "updated_at"]

    raw_columns = ("attributes",)

    @classmethod
    def stored_where(cls, source: str) -> Any:
        return cls.table.c.source == source

    def row(self, entity: dict[str, Any], *, source: str, mapping: str,
            now: datetime) -> dict[str, Any]:
        values, _ = self.values(entity, source=source, mapping=mapping, now=now)
        return dict(zip(self.columns(), values, strict=True))

    def values(self, entity: dict[str, Any], *, source: str, mapping: str,
               now: datetime) -> tuple[tuple[Any, ...], str]:
        # JSON text written once: it is both the stored document and what the digest reads.
        document = _ENCODER({
            key: value if type(value) in _JSON_NATIVE else _jsonable(value)
            for key, value in kept_attributes(entity, _CUSTOMER_SKIP).items()})
        return self._values(entity, document, source, mapping, now)

    def batch_values(self, entities: Sequence[dict[str, Any]], *, source: str, mapping: str,
                     now: datetime) -> Iterable[tuple[tuple[Any, ...], str]]:
        documents = None if entities and ATTRIBUTES_KEY in entities[0] \
            else column_documents(entities, _CUSTOMER_SKIP)  # the same text, made faster
        if documents is None:
            return super().batch_values(entities, source=source, mapping=mapping, now=now)
        values_of = self._values
        return (values_of(entity, document, source, mapping, now)
                for entity, document in zip(entities, documents, strict=True))

    def prepare_columns(self, names: Sequence[str], columns: Sequence[Sequence[Any]], *,
                        source: str, mapping: str, now: datetime) -> Prepared:
        by_name = dict(zip(names, columns, strict=True))
        # the document's keys as kept_attributes orders them: `attributes.city` as `city`
        kept = kept_attributes(nested_entity([(name, name) for name in names]),
                               _CUSTOMER_SKIP)
        count = len(columns[0]) if columns else 0
        documents = documents_of(list(kept), [by_name[name] for name in kept.values()], count)
        if documents is None or "external_id" not in by_name or ATTRIBUTES_KEY in by_name:
            return super().prepare_columns(names, columns, source=source, mapping=mapping,
                                           now=now)
        absent = [None] * count
        row = _customer_values
        return self._collect(
            (row(source, key, name, company, mobile, email, tier, document, mapping, now)
             for key, name, company, mobile, email, tier, document in zip(
                 by_name["external_id"], *(by_name.get(c, absent) for c in self._COLUMNS),
                 documents, strict=True)), now)

    @staticmethod
    def _values(entity: dict[str, Any], document: str, source: str, mapping: str,
                now: datetime) -> tuple[tuple[Any, ...], str]:
        get = entity.get
        return _customer_values(source, entity["external_id"], get("name"), get("company"),
                                get("mobile"), get("email"), get("tier"), document, mapping,
                                now)

    def fingerprint(self, row: dict[str, Any]) -> str:
        return f"{row['content_hash']}|{row['mapping']}"

    def existing(self, keys: Sequence[str], *, source: str) -> dict[str, tuple[int, str]]:
        table = self.table
        found: dict[str, tuple[int, str]] = {}
        for start in range(0, len(keys), _CHUNK):
            rows = self.connection.execute(
                select(table.c.id, table.c.external_id, table.c.content_hash, table.c.mapping)
                .where(table.c.source == source,
                       table.c.external_id.in_(keys[start : start + _CHUNK])))
            for row_id, key, digest, mapping in rows:
                found[key] = (row_id, f"{digest}|{mapping}")
        return found


def _customer_values(source: str, key: Any, name: Any, company: Any, mobile: Any, email: Any,
                     tier: Any, document: str, mapping: str,
                     now: datetime) -> tuple[tuple[Any, ...], str]:
    """A customer's column values and fingerprint: the hot path of an import."""
    digest = hashlib.blake2b(
        f"{name}\x1f{company}\x1f{mobile}\x1f{email}\x1f{tier}\x1f{document}".encode(),
        digest_size=16).hexdigest()
    return ((source, str(key), name, company, mobile, email, tier, document, digest, mapping,
             now, now), f"{digest}|{mapping}")


class TicketWriter(BulkWriter):
    """Historical tickets, keyed by `external_ref` (namespace it: `legacy:T-1001`). Mapped
    fields without a ticket column are kept in `attributes`, as customers keep theirs; an
    empty `created_at` stays empty, and so may `subject` (stored as "")."""

    name = "ticket"
    key_field = "external_ref"
    key_column = "external_ref"
    required_fields = ("external_ref",)
    table = Ticket.__table__  # type: ignore[assignment]
    # mapped field → column: named as the ticket answers them
    _FIELDS = {"subject": "subject", "description": "description", "channel": "channel",
               "status": "status", "contact_name": "contact_name",
               "contact_mobile": "contact_mobile", "contact_email": "contact_email",
               "category": "category", "priority": "priority", "external_ref": "external_ref"}
    # The contact's names before (deprecated, still read): used when the new one is absent.
    _OLD_NAMES = (("mobile", "contact_mobile"), ("email", "contact_email"))
    _WRITTEN = frozenset({*_FIELDS, "mobile", "email", "created_at"})
    dropped_fields = frozenset({
        "id", "customer_id", "enrichment_status", "enrichment", "enrichment_error",
        "enriched_at", "resolved_at", "resolution", "resolutions", "updated_at", "attributes"})
    _COMPARED = ("subject", "description", "channel", "status", "contact_name",
                 "contact_mobile", "contact_email", "category", "priority", "created_at",
                 "attributes")
    raw_columns = ("attributes",)

    @classmethod
    def columns(cls) -> list[str]:
        return [*cls._FIELDS.values(), "enrichment_status", "attributes", "created_at",
                "updated_at"]

    @classmethod
    def stored_where(cls, source: str) -> Any:  # noqa: ARG003 -- tickets match by ref alone
        return cls.table.c.external_ref.is_not(None)

    @classmethod
    def conflicts(cls, fields: Sequence[str]) -> list[tuple[str, str]]:
        problems = super().conflicts(fields)
        for old, new in cls._OLD_NAMES:
            if old in fields and new in fields:
                problems.append((old, f"field '{old}' is the old name of '{new}', which the "
                                      f"mapping also defines, so it would be dropped: remove "
                                      f"'{old}'"))
        return problems

    def row(self, entity: dict[str, Any], *, source: str,
            mapping: str, now: datetime) -> dict[str, Any]:  # noqa: ARG002 -- the hook's
        # signature; tickets have no mapping column (their audit rows record it)
        row = {column: entity.get(field) for field, column in self._FIELDS.items()}
        for old, column in self._OLD_NAMES:
            if row[column] is None:
                row[column] = entity.get(old)
        row["external_ref"] = str(entity["external_ref"])
        row["subject"] = row["subject"] or ""
        row["description"] = row["description"] or ""
        row["channel"] = row["channel"] or source
        row["status"] = row["status"] or "closed"
        row["priority"] = row["priority"] or "normal"
        row["enrichment_status"] = "skipped"  # history: nobody is waiting on it
        written = self._WRITTEN
        extra = {key: value if type(value) in _JSON_NATIVE else _jsonable(value)
                 for key, value in kept_attributes(entity, written).items()}
        row["attributes"] = _CANONICAL(extra) if extra else None
        created = entity.get("created_at")
        # Stored in UTC, as every timestamp of the hub (SQLite keeps no zone); no time given
        # stays empty: the time of the import is not when the ticket was opened.
        if isinstance(created, datetime):
            row["created_at"] = created.astimezone(UTC)
        elif isinstance(created, date):
            row["created_at"] = datetime(created.year, created.month, created.day, tzinfo=UTC)
        else:
            row["created_at"] = None
        row["updated_at"] = now
        return row

    @classmethod
    def comparable(cls, row: dict[str, Any]) -> list[Any]:
        """The values that decide whether a stored ticket changed, in `_COMPARED` order."""
        values = [row.get(column) for column in cls._COMPARED]
        created, attributes = values[-2], values[-1]
        if isinstance(created, datetime):  # compare instants; SQLite gives them back naive
            values[-2] = as_utc(created).timestamp()
        if isinstance(attributes, dict):  # as stored: compared as the text written
            values[-1] = _CANONICAL(attributes) if attributes else None
        return values

    def fingerprint(self, row: dict[str, Any]) -> str:
        return repr(self.comparable(row))

    def changed_fields(self, stored: dict[str, Any], row: dict[str, Any]) -> list[str]:
        """The compared columns in which `row` differs from the `stored` one."""
        return [name for name, old, new in zip(
            self._COMPARED, self.comparable(stored), self.comparable(row), strict=True)
            if old != new]

    def stored_rows(self, keys: Sequence[str]) -> dict[str, tuple[int, dict[str, Any]]]:
        """external_ref → (id, the compared columns' values) of the tickets stored."""
        table = self.table
        found: dict[str, tuple[int, dict[str, Any]]] = {}
        columns = [table.c[name] for name in self._COMPARED]
        for start in range(0, len(keys), _CHUNK):
            rows = self.connection.execute(
                select(table.c.id, table.c.external_ref, *columns)
                .where(table.c.external_ref.in_(keys[start : start + _CHUNK])))
            for row in rows:
                found[row[1]] = (row[0], dict(zip(self._COMPARED, row[2:], strict=True)))
        return found

    def existing(self, keys: Sequence[str], *,
                 source: str) -> dict[str, tuple[int, str]]:  # noqa: ARG002 -- keyed by ref
        return {key: (row_id, self.fingerprint(stored))
                for key, (row_id, stored) in self.stored_rows(keys).items()}

