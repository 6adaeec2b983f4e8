"""One system's part of a ticket's enrichment: the customer's history from the enrich job's
own connection or from one of its further `sources`, through the per-customer cache, within
the job's `source_timeout`. A failure never raises: it is an entry that says which system
failed and why, with the last history cached for the customer standing in (marked stale).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from connectors.sdk import ConnectorError
from connectors.sdk.errors import ConfigError, RejectedError, RetriableError

from ..config import EnrichJob, EnrichSource
from ..core.time import as_utc
from ..customers.history import stored_history
from ..mapping import RecordMappingError
from ..runtime import Hub
from ..store.models import Customer
from .cache import fetch_history, find_snapshot
from .lookup import ask_directory

__all__ = ["Part", "from_primary", "from_source", "from_store", "permanent", "skipped",
           "timed_out"]


def permanent(exc: Exception) -> bool:
    """A failure no retry mends: the connection's config or capability, a record the mapping
    refuses, the vendor refusing the request itself (a 4xx: no such customer there). Time
    mends outages, throttling and timeouts; an admin mends credentials: those are retried."""
    if isinstance(exc, RecordMappingError):
        return True
    if getattr(exc, "status", None) in _TRANSIENT_REFUSALS:
        return False
    return isinstance(exc, ConfigError | RejectedError) and not isinstance(exc, RetriableError)


# 4xx answers that say "not now" rather than "never": timeout, conflict, locked, too early.
_TRANSIENT_REFUSALS = frozenset({408, 409, 423, 425})


@dataclass
class Part:
    """What one system gave: its `sources` entry, its history (None: none to show), and
    whether its failure is one no retry mends."""

    entry: dict[str, Any]
    history: dict[str, Any] | None = None
    permanent: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.entry.get("status") == "failed")


def timed_out(connection: str, job: EnrichJob) -> str:
    return f"{connection} did not answer within {job.source_timeout:g}s"


def skipped(connection: str, why: str) -> Part:
    """A system not asked (no customer to ask about)."""
    return Part({"connection": connection, "status": "skipped", "error": why})


async def from_primary(hub: Hub, job: EnrichJob, external_id: str, *, deadline: float,
                       actor: str) -> Part:
    """The customer's history from the job's own connection, by the deadline (loop time)
    that its lookup of the customer started."""
    part = Part({"connection": job.connection, "status": "ok", "external_id": external_id})
    try:
        async with asyncio.timeout_at(deadline):
            await _fetch(hub, job, job.connection, external_id, part, actor=actor)
    except (ConnectorError, RecordMappingError) as exc:
        _failed(hub, job.connection, external_id, part, str(exc))
        part.permanent = permanent(exc)
    except TimeoutError:
        _failed(hub, job.connection, external_id, part, timed_out(job.connection, job))
    return part


async def from_store(hub: Hub, job: EnrichJob, customer_id: int) -> Part:
    """The customer's history as the connection's pulls stored it (the job's
    `history_from_store` kinds): the lists the customer's mapping kept in their attributes,
    then the rows separate pull jobs stored of that kind (orders, interactions: newest
    first) for the customer's external id in the job's connection. No call to the
    connection. Each stored row's item carries `stored_at`, when the pull last wrote it;
    the entry's `fetched_at` (every item's freshness in the view) is the latest of those
    and of when the customer was stored."""
    with hub.sessions() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            return Part({"connection": job.connection, "status": "not_found",
                         "error": f"no customer {customer_id} in the store"})
        attributes, stored_at = dict(customer.attributes or {}), as_utc(customer.updated_at)
        external_id = customer.external_id
        # rows link to the customer of the pull's own connection by its external id
        pulled = stored_history(session, source=job.connection, customer_external_id=external_id,
                                kinds=job.history_from_store) \
            if customer.source == job.connection else {}
    history: dict[str, Any] = {}
    for kind in job.history_from_store:
        rows = pulled.get(kind, ())
        history[kind] = [
            *(item for item in attributes.get(kind) or () if isinstance(item, dict)),
            *({**row.item, "stored_at": row.stored_at.isoformat()} for row in rows)]
        stored_at = max([stored_at, *(row.stored_at for row in rows)])
    return Part({"connection": job.connection, "status": "ok", "external_id": external_id,
                 "fetched_at": stored_at.isoformat(), "cached": True}, history)


async def from_source(hub: Hub, job: EnrichJob, source: EnrichSource, *,
                      attributes: dict[str, Any], mobile: str | None, email: str | None,
                      actor: str) -> Part:
    """The customer's history from a further system: their number there is the stored
    customer's `key` attribute, else what the system's `find_customer` answers for the
    ticket's contact (its record's `id_field`)."""
    connection = source.connection
    part = Part({"connection": connection, "status": "ok"})
    number = _attribute(attributes, source.key)
    try:
        async with asyncio.timeout(job.source_timeout):
            if number is None:
                number = await _find_number(hub, job, source, mobile=mobile, email=email,
                                            actor=actor)
            if number is None:
                part.entry.update(status="not_found", error=_not_found(source))
                return part
            part.entry["external_id"] = number
            await _fetch(hub, job, connection, number, part, actor=actor)
    except (ConnectorError, RecordMappingError) as exc:
        _failed(hub, connection, number, part, str(exc))
        part.permanent = permanent(exc)
    except TimeoutError:
        _failed(hub, connection, number, part, timed_out(connection, job))
    return part


async def _fetch(hub: Hub, job: EnrichJob, connection: str, external_id: str, part: Part, *,
                 actor: str) -> None:
    fetched = await fetch_history(hub, connection, external_id, ttl=job.cache_ttl,
                                  timeout=job.source_timeout, actor=actor)
    part.history = fetched.history
    part.entry.update(fetched_at=fetched.fetched_at.isoformat(), cached=fetched.cached)


def _failed(hub: Hub, connection: str, external_id: str | None, part: Part,
            error: str) -> None:
    part.entry.update(status="failed", error=error)
    if external_id is None:
        return
    with hub.sessions() as session:
        last = find_snapshot(session, connection, external_id)
    if last is not None:  # what we knew before is better than nothing: say how old
        part.history = last.history
        part.entry.update(fetched_at=last.fetched_at.isoformat(), cached=True, stale=True)


def _attribute(attributes: dict[str, Any], key: str | None) -> str | None:
    value = attributes.get(key) if key else None
    if value is None or isinstance(value, bool | dict | list) or not str(value).strip():
        return None
    return str(value).strip()


async def _find_number(hub: Hub, job: EnrichJob, source: EnrichSource, *,
                       mobile: str | None, email: str | None, actor: str) -> str | None:
    if source.id_field is None:
        return None
    record = await ask_directory(hub, source.connection, job, mobile=mobile, email=email,
                                 actor=actor)
    return None if record is None else _attribute(record, source.id_field)


def _not_found(source: EnrichSource) -> str:
    if source.id_field is None:
        return f"the customer has no '{source.key}'"
    if source.key is None:
        return "no customer there matches the ticket's contact"
    return f"the customer has no '{source.key}', and none there matches the ticket's contact"
