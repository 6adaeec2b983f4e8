"""Customers in the store: upserts by natural key, lookups by contact, the profile view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from hub.core.jsonable import content_hash, to_jsonable
from hub.store.models import Customer, ExternalRecord

__all__ = ["Created", "UpsertResult", "customer_profile", "find_by_contact", "upsert_customers",
           "upsert_external_records"]

COLUMNS = ("name", "company", "mobile", "email", "tier")


@dataclass(frozen=True, slots=True)
class Created:
    """A customer row just inserted: what its audit row names."""

    id: int
    source: str
    external_id: str


@dataclass
class UpsertResult:
    created: list[Created] = field(default_factory=list)
    updated: list[tuple[Customer, list[str]]] = field(default_factory=list)
    unchanged: int = 0


def _split(entity: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    columns = {name: entity.get(name) for name in COLUMNS}
    attributes = {k: v for k, v in entity.items() if k not in COLUMNS and k != "external_id"}
    return columns, to_jsonable(attributes)


def upsert_customers(session: Session, source: str, entities: Sequence[dict[str, Any]], *,
                     mapping: str | None = None) -> UpsertResult:
    """Insert new customers, update changed ones, skip identical ones (by content hash).

    `mapping` (`name@version`) is recorded on every row written.
    """
    result = UpsertResult()
    latest = {str(e["external_id"]): e for e in entities}  # a page may repeat a record
    existing = {
        c.external_id: c
        for c in session.scalars(select(Customer).where(
            Customer.source == source, Customer.external_id.in_(list(latest))))
    }
    now = datetime.now(UTC)
    new_rows: list[dict[str, Any]] = []
    for external_id, entity in latest.items():
        digest = content_hash(entity)
        columns, attributes = _split(entity)
        current = existing.get(external_id)
        if current is None:
            new_rows.append({"source": source, "external_id": external_id,
                             "attributes": attributes, "content_hash": digest,
                             "created_at": now, "updated_at": now, "mapping": mapping,
                             **columns})
        elif current.content_hash == digest and current.mapping == mapping:
            result.unchanged += 1
        else:
            changed = [k for k, v in columns.items() if getattr(current, k) != v]
            changed += sorted(k for k in set(attributes) | set(current.attributes or {})
                              if (current.attributes or {}).get(k) != attributes.get(k))
            if current.mapping != mapping:
                changed.append("mapping")
            for name, value in columns.items():
                setattr(current, name, value)
            current.attributes = attributes
            current.content_hash = digest
            current.mapping = mapping
            current.updated_at = now
            result.updated.append((current, changed))
    session.flush()
    if new_rows:  # one multi-row INSERT … RETURNING id, not an ORM object per customer
        ids = session.scalars(insert(Customer).returning(Customer.id,
                                                          sort_by_parameter_order=True),
                              new_rows).all()
        result.created = [Created(id_, source, row["external_id"])
                          for id_, row in zip(ids, new_rows, strict=True)]
    return result


def upsert_external_records(session: Session, *, source: str, stream: str, key: str,
                            records: Sequence[dict[str, Any]]) -> None:
    """Keep the latest raw payload of each record, as the source sent it."""
    latest = {str(r[key]): r for r in records if r.get(key) is not None}
    existing = {
        r.external_id: r
        for r in session.scalars(select(ExternalRecord).where(
            ExternalRecord.source == source, ExternalRecord.stream == stream,
            ExternalRecord.external_id.in_(list(latest))))
    }
    now = datetime.now(UTC)
    new_rows: list[dict[str, Any]] = []
    for external_id, payload in latest.items():
        digest = content_hash(payload)
        current = existing.get(external_id)
        if current is None:
            new_rows.append({"source": source, "stream": stream, "external_id": external_id,
                             "payload": payload, "content_hash": digest, "fetched_at": now})
        elif current.content_hash != digest:
            current.payload, current.content_hash, current.fetched_at = payload, digest, now
    if new_rows:  # RETURNING makes it one multi-row INSERT, not a statement per row
        session.execute(insert(ExternalRecord).returning(ExternalRecord.id), new_rows)


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
