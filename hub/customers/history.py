"""A customer's history that separate pull jobs bring: orders (with their lines) and past
interactions, upserted by (source, external_id) and linked to the customer of the same
source by the customer's external id there (`customer_external_id`), so they link whichever
of the two a pull brings first. Enrichment's `history_from_store` reads them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.jsonable import content_hash, to_jsonable
from hub.core.time import as_utc
from hub.errors import InvalidRequestError
from hub.store.models import Customer, HistoryRow, Interaction, Order

__all__ = ["HISTORY_KINDS", "INTERACTION_FIELDS", "ORDER_FIELDS", "HistoryUpsertResult",
           "StoredItem", "linked_customers", "stored_history", "upsert_interactions",
           "upsert_orders"]

# The fields the hub reads of each (the summary, the 360° view); any other is kept in the
# item as mapped. `items`: the order's lines.
ORDER_FIELDS = frozenset({"external_id", "customer_external_id", "order_no", "ordered_at",
                          "status", "total", "currency", "items"})
INTERACTION_FIELDS = frozenset({"external_id", "customer_external_id", "at", "channel",
                                "summary", "agent"})
# history kind (as `history_from_store` names it) → its table, and the item field that
# orders it newest first
HISTORY_KINDS: dict[str, tuple[type[HistoryRow], str]] = {
    "orders": (Order, "ordered_at"), "interactions": (Interaction, "at")}
_CHUNK = 500  # keys per IN (…) lookup


@dataclass
class HistoryUpsertResult:
    created: list[HistoryRow] = field(default_factory=list)
    updated: list[tuple[HistoryRow, list[str]]] = field(default_factory=list)
    unchanged: int = 0

    def customers(self) -> set[str]:
        """The external ids of the customers whose history this changed."""
        return {row.customer_external_id
                for row in (*self.created, *(row for row, _ in self.updated))}


@dataclass(frozen=True, slots=True)
class StoredItem:
    """A stored order or interaction as enrichment serves it, and when it was last written."""

    item: dict[str, Any]
    stored_at: datetime


def upsert_orders(session: Session, source: str, entities: Sequence[dict[str, Any]], *,
                  mapping: str | None = None) -> HistoryUpsertResult:
    """Insert new orders, update changed ones, count identical ones unchanged."""
    return _upsert(session, Order, source, entities, mapping=mapping)


def upsert_interactions(session: Session, source: str, entities: Sequence[dict[str, Any]], *,
                        mapping: str | None = None) -> HistoryUpsertResult:
    """Insert new interactions, update changed ones, count identical ones unchanged."""
    return _upsert(session, Interaction, source, entities, mapping=mapping)


def _upsert(session: Session, model: type[HistoryRow], source: str,
            entities: Sequence[dict[str, Any]], *, mapping: str | None) -> HistoryUpsertResult:
    """Each entity has `external_id` and `customer_external_id`; the item stored is the
    entity without the latter. `mapping` (`name@version`) is recorded on every row
    written; a row counts unchanged when its content and mapping are."""
    result = HistoryUpsertResult()
    latest = _latest(model, source, entities)  # a page may repeat a record: the last wins
    keys = list(latest)
    existing: dict[str, HistoryRow] = {}
    for start in range(0, len(keys), _CHUNK):
        existing.update((row.external_id, row) for row in session.scalars(select(model).where(
            model.source == source, model.external_id.in_(keys[start:start + _CHUNK]))))
    now = datetime.now(UTC)
    for external_id, (customer, item) in latest.items():
        digest = content_hash({"customer": customer, "item": item})
        current = existing.get(external_id)
        if current is None:
            row = model(source=source, external_id=external_id, customer_external_id=customer,
                        item=item, content_hash=digest, mapping=mapping, created_at=now,
                        updated_at=now)
            session.add(row)
            result.created.append(row)
        elif current.content_hash == digest and current.mapping == mapping:
            result.unchanged += 1
        else:
            changed = sorted(key for key in set(item) | set(current.item or {})
                             if (current.item or {}).get(key) != item.get(key))
            if current.customer_external_id != customer:
                changed.insert(0, "customer_external_id")
            if current.mapping != mapping:
                changed.append("mapping")
            current.customer_external_id, current.item = customer, item
            current.content_hash, current.mapping, current.updated_at = digest, mapping, now
            result.updated.append((current, changed))
    session.flush()
    return result


def _latest(model: type[HistoryRow], source: str, entities: Sequence[dict[str, Any]]
            ) -> dict[str, tuple[str, dict[str, Any]]]:
    """external_id → (the customer's external id, the item as stored)."""
    what = model.__tablename__[:-1]  # order, interaction
    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for entity in entities:
        external_id = _text(entity.get("external_id"))
        if external_id is None:
            raise InvalidRequestError(f"{what} from '{source}' has no external_id: map the "
                                      f"record's id to `external_id`")
        customer = _text(entity.get("customer_external_id"))
        if customer is None:
            raise InvalidRequestError(
                f"{what} '{external_id}' from '{source}' has no customer_external_id: map "
                f"the customer's id in '{source}' to `customer_external_id`")
        item = {key: value for key, value in entity.items() if key != "customer_external_id"}
        latest[external_id] = (customer, to_jsonable(item))
    return latest


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list) or not str(value).strip():
        return None
    return str(value).strip()


def stored_history(session: Session, *, source: str, customer_external_id: str,
                   kinds: Sequence[str]) -> dict[str, list[StoredItem]]:
    """The customer's stored rows of each kind in `kinds` that the store keeps (orders,
    interactions; other kinds are skipped), newest first by the item's own time
    (`ordered_at`, `at`), then by when it was first stored."""
    found: dict[str, list[StoredItem]] = {}
    for kind in kinds:
        if kind not in HISTORY_KINDS:
            continue
        model, when = HISTORY_KINDS[kind]
        rows = list(session.execute(select(model.item, model.updated_at, model.id).where(
            model.source == source, model.customer_external_id == customer_external_id)))
        rows.sort(key=lambda row: (str(row.item.get(when) or ""), row.id), reverse=True)
        found[kind] = [StoredItem(dict(row.item), as_utc(row.updated_at)) for row in rows]
    return found


def linked_customers(session: Session, *, source: str, external_ids: Sequence[str]
                     ) -> list[int]:
    """The ids of the customers pulled from `source` with these external ids (those stored
    yet: history may arrive before its customer)."""
    keys, found = sorted(set(external_ids)), list[int]()
    for start in range(0, len(keys), _CHUNK):
        found.extend(session.scalars(select(Customer.id).where(
            Customer.source == source, Customer.external_id.in_(keys[start:start + _CHUNK]))))
    return found
