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
from difflib import get_close_matches
from typing import Any, Protocol

from sqlalchemy.orm import Session

from hub.customers.history import (
    INTERACTION_FIELDS,
    ORDER_FIELDS,
    upsert_interactions,
    upsert_orders,
)
from hub.customers.store import COLUMNS as CUSTOMER_COLUMNS
from hub.customers.store import upsert_customers
from hub.kb.store import ARTICLE_FIELDS, upsert_articles

from .pulled_tickets import upsert_tickets
from .writers import BulkWriter, CustomerWriter, TicketWriter

__all__ = ["ATTRIBUTES", "TARGETS", "Target", "Upsert", "field_problems", "import_writer",
           "importable", "pull_target"]


class Upsert(Protocol):
    """Stores a page of mapped entities from `source`; the result lists what it created
    and updated (with the fields that changed) and counts what was unchanged."""

    def __call__(self, session: Session, source: str, entities: Sequence[dict[str, Any]], *,
                 mapping: str | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Target:
    """`fields`: what it stores by name. Another field is kept only when written
    `attributes.<name>` (in `kept_in`: the record's attributes, or the history item's
    `attributes` object) and `keeps_others` says it has such a place; any other name is an error
    (`mobil:` for `mobile:` would otherwise lose every mobile)."""

    name: str
    table: str
    upsert: Upsert | None = None  # how a pull stores it (None: pulls cannot)
    writer: type[BulkWriter] | None = None  # how an import writes it (None: imports cannot)
    fields: frozenset[str] = frozenset()
    keeps_others: bool = True
    kept_in: str = "attributes"  # where an `attributes.<name>` field is kept


TARGETS: dict[str, Target] = {target.name: target for target in (
    Target("customer", "customers", upsert=upsert_customers, writer=CustomerWriter,
           fields=frozenset({"external_id", *CUSTOMER_COLUMNS})),
    Target("ticket", "tickets", upsert=upsert_tickets, writer=TicketWriter,
           fields=frozenset(TicketWriter._WRITTEN)),  # noqa: SLF001 -- its own package
    Target("article", "articles", upsert=upsert_articles, fields=ARTICLE_FIELDS,
           keeps_others=False),
    # a customer's history from separate pull jobs (hub/customers/history.py)
    Target("order", "orders", upsert=upsert_orders, fields=ORDER_FIELDS,
           kept_in="item, under attributes"),
    Target("interaction", "interactions", upsert=upsert_interactions,
           fields=INTERACTION_FIELDS, kept_in="item, under attributes"),
)}

ATTRIBUTES = "attributes."  # an output field written `attributes.<name>`: kept, not a column


def field_problems(target: str | None, fields: Sequence[str], *,
                   known: frozenset[str] | None = None,
                   other: str = "it has no attributes, so this field would be lost"
                   ) -> list[tuple[str, str]]:
    """(field, message) for each mapped field its target has no place for: not one of its
    fields (`known`, else the target's) nor written `attributes.<name>` where it keeps
    them (with `known`, none: `other` says what then happens to such a field). A target
    that is not an entity of the hub (`kingdee.AR_REFUNDBILL`: a vendor's document) maps
    freely. `hub mappings validate`, `hub config validate` and the mapping
    preview report them with file, line and a did-you-mean."""
    found = TARGETS.get(target or "")
    if found is None or not found.fields:
        return []
    fields_known = found.fields if known is None else known
    keeps = found.keeps_others and known is None
    problems = []
    for name in fields:
        if name in fields_known:
            continue
        if keeps and name.startswith(ATTRIBUTES) and len(name) > len(ATTRIBUTES):
            continue
        problems.append((name, _not_a_field(found, name, sorted(fields_known), keeps=keeps,
                                            other=other)))
    return problems


def _not_a_field(target: Target, name: str, known: list[str], *, keeps: bool,
                 other: str) -> str:
    article = "an" if target.name[0] in "aeiou" else "a"
    said = f"'{name}' is not {article} {target.name} field"
    close = get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else f"its fields: {', '.join(known)}; "
    if not keeps:
        return f"{said}: {hint}{other}"
    kept = name.removeprefix(ATTRIBUTES)
    return (f"{said}: {hint}to keep it in the {target.name}'s {target.kept_in}, write "
            f"'attributes.{kept}' (such a field used to go there unasked)")


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
