"""Where ingested records land: one registry of targets, shared by pulls and imports.

A target is an entity the hub keeps from other systems: its name (what a mapping's `target:`
says, and the entity of its audit rows), its table, and how each way in writes it. A pull
upserts a page through the ORM and audits every change (`upsert`); an import writes large
batches at the driver level (`writer`, see writers.py). A pull job names its target by the
table (`target: customers`), a mapping by the entity (`target: customer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from hub.customers.store import upsert_customers
from hub.kb.store import upsert_articles

from .writers import BulkWriter, CustomerWriter, TicketWriter

__all__ = ["TARGETS", "Target", "Upsert", "import_writer", "importable", "pull_target"]


class Upsert(Protocol):
    """Stores a page of mapped entities from `source`; the result lists what it created
    and updated (with the fields that changed) and counts what was unchanged."""

    def __call__(self, session: Session, source: str, entities: Sequence[dict[str, Any]], *,
                 mapping: str | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    table: str
    upsert: Upsert | None = None  # how a pull stores it (None: pulls cannot)
    writer: type[BulkWriter] | None = None  # how an import writes it (None: imports cannot)


TARGETS: dict[str, Target] = {target.name: target for target in (
    Target("customer", "customers", upsert=upsert_customers, writer=CustomerWriter),
    Target("ticket", "tickets", writer=TicketWriter),
    Target("article", "articles", upsert=upsert_articles),
)}


def pull_target(table: str) -> Target:
    """The target a pull job names by its table; raises LookupError naming the known ones."""
    for target in TARGETS.values():
        if target.table == table and target.upsert is not None:
            return target
    known = ", ".join(t.table for t in TARGETS.values() if t.upsert is not None)
    raise LookupError(f"a pull cannot land in '{table}'; it lands in {known}")


def importable() -> list[str]:
    """The entities an import can write."""
    return [name for name, target in TARGETS.items() if target.writer is not None]


def import_writer(name: str | None) -> type[BulkWriter] | None:
    """How an import writes entity `name` (a mapping's `target:`), or None if it cannot."""
    target = TARGETS.get(name or "")
    return target.writer if target is not None else None
