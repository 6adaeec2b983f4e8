"""Finding a ticket's customer in the enrich job's connection when the store has no match."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from connectors.sdk.capabilities import CustomerDirectory
from connectors.sdk.errors import ConfigError
from hub.customers.store import upsert_customers
from hub.ingest.lookups import resolve_lookups

from ..audit import AuditEntry
from ..config import EnrichJob
from ..runtime import Hub
from ..store.models import Customer
from .flights import Flights

__all__ = ["ask_directory", "find_remote_customer"]

_FINDS: Flights[int | None] = Flights()


async def ask_directory(hub: Hub, connection: str, job: EnrichJob, *, mobile: str | None,
                        email: str | None, actor: str) -> dict[str, Any] | None:
    """The customer `connection` knows by the ticket's contact (as far as the job's `match`
    allows), or None: nobody matches, or there is nothing to ask by."""
    mobile = mobile if "mobile" in job.match else None
    email = email if "email" in job.match else None
    if not (mobile or email):
        return None
    connector = hub.connector(connection, actor=actor)
    async with connector:
        if not isinstance(connector, CustomerDirectory):
            raise ConfigError("this connector cannot look customers up",
                              connection=connection)
        return await connector.find_customer(mobile=mobile, email=email)


async def find_remote_customer(hub: Hub, job: EnrichJob, *, mobile: str | None,
                               email: str | None, actor: str) -> int | None:
    """Ask the connection for the customer by the ticket's contact; store what it finds
    through the job's mapping. Returns the customer's id, or None when nobody matches.
    Tickets with the same contact arriving together share one lookup (one call, one
    upsert), as they share the customer's history fetch."""
    key = (job.connection, job.mapping, mobile if "mobile" in job.match else None,
           email if "email" in job.match else None)
    return await _FINDS.join(hub, key, lambda: _find_and_store(
        hub, job, mobile=mobile, email=email, actor=actor))


async def _find_and_store(hub: Hub, job: EnrichJob, *, mobile: str | None,
                          email: str | None, actor: str) -> int | None:
    record = await ask_directory(hub, job.connection, job, mobile=mobile, email=email,
                                 actor=actor)
    if record is None:
        return None
    mapping = hub.mappings.get(job.mapping)
    lookups = await resolve_lookups(hub, mapping, [record], actor=actor)
    entity = mapping(record, row=str(record.get("id", "")), lookups=lookups)
    if entity is None:
        return None  # the mapping's filter does not take this customer
    with hub.sessions.begin() as session:
        result = upsert_customers(session, job.connection, [entity], mapping=mapping.label)
        customer = session.scalars(select(Customer).where(
            Customer.source == job.connection,
            Customer.external_id == str(entity["external_id"]))).one()
        if result.created:
            hub.audit.append(session, [AuditEntry(
                actor, "customer.create", f"customer:{customer.id}",
                detail={"source": customer.source, "external_id": customer.external_id,
                        "via": "enrichment lookup", "mapping": mapping.label})])
        return customer.id
