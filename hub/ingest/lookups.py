"""Resolving a mapping's lookups for a batch of records: one query per lookup, not per row.

    tables = await resolve_lookups(hub, mapping, records, actor="job:crm_customers")
    entity = mapping(record, lookups=tables)

Hub entities are searched in the store (`entity: customer, by: mobile`); reference data comes
from the connector of a configured connection (`connection: crm, reference: customer`),
through its `ReferenceData` capability.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import select

from connectors.sdk.capabilities import ReferenceData
from hub.customers.store import customer_profile
from hub.errors import InvalidRequestError
from hub.mapping import CompiledMapping, LookupInfo, LookupTables
from hub.mapping.spec import ENTITY_KEYS
from hub.runtime import Hub
from hub.store.models import Customer

__all__ = ["ENTITY_KEYS", "resolve_lookups"]

_CHUNK = 500  # keys per IN (…) query, well under every database's parameter limit


async def resolve_lookups(hub: Hub, mapping: CompiledMapping, records: Iterable[Any], *,
                          actor: str) -> LookupTables | None:
    """The lookup tables `mapping` needs for `records`; None if it has no lookups."""
    if not mapping.lookups:
        return None
    wanted = mapping.lookup_keys(records)
    tables: dict[str, Mapping[Any, Any]] = {}
    for name, lookup in mapping.lookups.items():
        keys = wanted.get(name, set())
        if not keys:
            tables[name] = {}
        elif lookup.entity is not None:
            tables[name] = _entities(hub, lookup, keys)
        else:
            tables[name] = await _reference(hub, lookup, keys, actor=actor)
    return LookupTables(tables)


def _entities(hub: Hub, lookup: LookupInfo, keys: Collection[Any]) -> dict[Any, Any]:
    if lookup.entity != "customer":
        raise InvalidRequestError(f"lookup '{lookup.name}': entity '{lookup.entity}' cannot be "
                                  f"looked up yet; known: {', '.join(ENTITY_KEYS)}")
    allowed = ENTITY_KEYS["customer"]
    if lookup.by not in allowed:
        raise InvalidRequestError(f"lookup '{lookup.name}': customers are looked up by "
                                  f"{', '.join(allowed)}, not '{lookup.by}'")
    column = getattr(Customer, lookup.by)
    values = sorted({str(key) for key in keys} if lookup.by != "id" else
                    {int(key) for key in keys if str(key).isdigit()})
    found: dict[Any, Any] = {}
    with hub.sessions() as session:
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            rows = session.scalars(select(Customer).where(column.in_(chunk))
                                   .order_by(Customer.updated_at))
            for customer in rows:  # the most recently updated wins a tie
                found[getattr(customer, lookup.by)] = customer_profile(customer)
    if lookup.by == "id":
        found |= {str(key): value for key, value in found.items()}
    return found


async def _reference(hub: Hub, lookup: LookupInfo, keys: Collection[Any], *,
                     actor: str) -> Mapping[Any, Any]:
    assert lookup.connection is not None and lookup.reference is not None
    connector = hub.connector(lookup.connection, actor=actor)
    if not isinstance(connector, ReferenceData):
        raise InvalidRequestError(f"lookup '{lookup.name}': connection '{lookup.connection}' "
                                  f"({connector.name}) provides no reference data")
    async with connector:
        return await connector.reference(lookup.reference, [str(key) for key in keys])
