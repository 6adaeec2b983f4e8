"""Customers' history, cached per (connection, external id) with a freshness TTL, fetched
once however many tickets ask at the same time.

Within a process, concurrent requests for one customer share one in-flight fetch
(flights.py: a task, shielded, so a caller that gives up does not cancel it for the
others). Across processes the snapshot row carries a short fetch lease: the process that
takes it calls the vendor, the others poll the row until fresh data lands or the lease
lapses (then one of them takes it). A fetch is bounded by the source's timeout, and so is the lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectors.sdk.capabilities import CustomerDirectory
from connectors.sdk.errors import ConfigError
from hub.core.owners import worker_id
from hub.core.time import as_utc

from ..runtime import Hub
from ..store.leasing import LeaseColumns, lease_free
from ..store.models import Customer, CustomerSnapshot
from .flights import Flights

__all__ = ["Fetched", "fetch_history", "find_snapshot", "mark_stale"]

_POLL = 0.05  # seconds between looks at a snapshot another process is fetching
_FETCH_LEASE = LeaseColumns(CustomerSnapshot.fetch_owner, CustomerSnapshot.fetch_until)


@dataclass(frozen=True, slots=True)
class Fetched:
    """A customer's history and when the vendor sent it; `cached`: no call was made."""

    history: dict[str, Any]
    fetched_at: datetime
    cached: bool


_FLIGHTS: Flights[Fetched] = Flights()


async def fetch_history(hub: Hub, connection: str, external_id: str, *, ttl: float,
                        timeout: float, actor: str) -> Fetched:
    """The customer's history: the cached snapshot while fresh, else one fetch shared by
    every concurrent caller (in this process and, through the store, in others).

    Raises ConnectorError (the source refused or failed) or TimeoutError (no answer within
    `timeout` seconds).
    """
    return await _FLIGHTS.join(hub, (connection, external_id), lambda: _load(
        hub, connection, external_id, ttl=ttl, timeout=timeout, actor=actor))


async def _load(hub: Hub, connection: str, external_id: str, *, ttl: float, timeout: float,
                actor: str) -> Fetched:
    owner = worker_id()
    started = datetime.now(UTC)
    # Most tickets find their customer cached: a read beside any writer answers them (on
    # SQLite, no wait for the store's one write lock, no write to commit).
    with hub.sessions() as session:
        session.connection(execution_options={"read_only": True})
        row = session.get(CustomerSnapshot, (connection, external_id))
        if row is not None and (fresh := _fresh(row, ttl=ttl, started=started)):
            return fresh
    async with asyncio.timeout(timeout):
        while True:
            with hub.sessions.begin() as session:
                found = _reserve(session, connection, external_id, owner=owner, ttl=ttl,
                                 started=started, lease=timedelta(seconds=timeout))
            if isinstance(found, Fetched):
                return found
            if found:
                break
            await asyncio.sleep(_POLL)
        try:
            history = await _call(hub, connection, external_id, actor=actor)
        except BaseException:
            with hub.sessions.begin() as session:
                _unlease(session, connection, external_id, owner)
            raise
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        _store(session, connection, external_id, history, owner=owner, started=started,
               now=now)
    return Fetched(history, now, cached=False)


def _reserve(session: Session, connection: str, external_id: str, *, owner: str,
             ttl: float, started: datetime, lease: timedelta) -> Fetched | bool:
    """A fresh snapshot, else whether the fetch lease is ours now (False: another
    process is fetching)."""
    now = datetime.now(UTC)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    session.execute(insert(CustomerSnapshot).values(
        connection=connection, external_id=external_id, stale=False, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["connection", "external_id"]))
    row = session.scalars(select(CustomerSnapshot).where(
        CustomerSnapshot.connection == connection,
        CustomerSnapshot.external_id == external_id).with_for_update()).one()
    if fresh := _fresh(row, ttl=ttl, started=started):
        return fresh
    if lease_free(row.fetch_until, now=now):
        # updated_at is left alone: it says when the row was last marked stale or filled.
        _FETCH_LEASE.take(row, owner, now + lease)
        return True
    return False


def _fresh(row: CustomerSnapshot, *, ttl: float, started: datetime) -> Fetched | None:
    if row.history is None or row.fetched_at is None:
        return None
    fetched_at = as_utc(row.fetched_at)
    # Data landed since this caller started counts as fresh whatever the TTL: it was
    # fetched for this very request, by another process.
    if fetched_at >= started or (not row.stale and fetched_at + timedelta(seconds=ttl)
                                 > datetime.now(UTC)):
        return Fetched(row.history, fetched_at, cached=True)
    return None


async def _call(hub: Hub, connection: str, external_id: str, *, actor: str
                ) -> dict[str, Any]:
    connector = hub.connector(connection, actor=actor)
    async with connector:
        if not isinstance(connector, CustomerDirectory):
            raise ConfigError("this connector cannot look customers up",
                              connection=connection)
        return await connector.customer_history(external_id)


def _unlease(session: Session, connection: str, external_id: str, owner: str) -> None:
    session.execute(update(CustomerSnapshot).where(
        CustomerSnapshot.connection == connection,
        CustomerSnapshot.external_id == external_id,
        _FETCH_LEASE.held_by(owner)).values(_FETCH_LEASE.cleared()))


def _store(session: Session, connection: str, external_id: str, history: dict[str, Any], *,
           owner: str, started: datetime, now: datetime) -> None:
    row = session.get_one(CustomerSnapshot, (connection, external_id), with_for_update=True)
    # Marked stale after this fetch began: the customer changed meanwhile, so what we hold
    # may predate the change. Keep it (better than nothing) but still stale.
    changed_meanwhile = row.stale and as_utc(row.updated_at) > started
    row.history, row.fetched_at, row.stale = history, now, changed_meanwhile
    if row.fetch_owner == owner:
        _FETCH_LEASE.clear(row)
    row.updated_at = now


def find_snapshot(session: Session, connection: str, external_id: str) -> Fetched | None:
    """The last history fetched, however old (for a ticket whose source fails now)."""
    row = session.get(CustomerSnapshot, (connection, external_id))
    if row is None or row.history is None or row.fetched_at is None:
        return None
    return Fetched(row.history, as_utc(row.fetched_at), cached=True)


def mark_stale(session: Session, customer_ids: Collection[int], *, now: datetime) -> int:
    """The customers changed: their snapshots (from any connection) are fetched anew next
    time. Returns how many snapshots that touched."""
    ids = sorted(set(customer_ids))
    touched = 0
    for start in range(0, len(ids), 500):
        external_ids = select(Customer.external_id).where(Customer.id.in_(ids[start:start + 500]))
        changed = session.execute(update(CustomerSnapshot).where(
            CustomerSnapshot.external_id.in_(external_ids)).values(stale=True, updated_at=now),
            execution_options={"synchronize_session": False})
        touched += changed.rowcount  # type: ignore[attr-defined]
    return touched
