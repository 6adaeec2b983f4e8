"""Enriching tickets: one queued ticket at a time, inline at creation within a short wait,
or many at once by `drain_enrichment` (what the scheduler and `hub enrich drain` call).

An attempt finds the customer (in the store, else in the enrich job's connection), attaches
their history from the per-customer cache — from that connection and, concurrently, from the
job's further `sources` (merged, each item tagged with its connection) — and settles the
ticket and its queue row in one transaction: `enriched`, `not_found`, or `partial` (a source
failed or was too slow: `sources` says which and why, and the row is retried with
exponential backoff until the job's retry budget is spent). Once an attempt has settled, the
caller's `then` runs on the ticket: the tickets service, the scheduler and `hub enrich drain`
pass the notify rules, which read what enrichment found (the customer's tier).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from connectors.sdk import ConnectorError
from hub.core import tracing
from hub.core.owners import worker_id
from hub.customers.store import customer_profile, find_by_contact

from ..audit import AuditEntry
from ..config import EnrichJob
from ..mapping import RecordMappingError
from ..runtime import Hub
from ..store.models import Customer, Ticket
from . import queue
from .lookup import find_remote_customer
from .merge import merge_histories
from .sources import from_primary, from_source, from_store, permanent, skipped, timed_out
from .stored import stored_enrichment
from .summary import history_summary
from .view import FAILED

__all__ = ["AfterEnrichment", "DrainResult", "Outcome", "drain_enrichment", "enrich_job",
           "enrich_new_ticket", "enrich_now"]

log = logging.getLogger("hub.enrichment")

_LEASE_MARGIN = 30.0  # seconds a lease outlives the work it covers (settling, a slow store)


class AfterEnrichment(Protocol):
    """What runs on a ticket once its enrichment has settled, given why it was queued
    (`created`, `customer_changed`, `requested`); what it raises is logged, never re-raised."""

    async def __call__(self, hub: Hub, ticket_id: int, *, reason: str, actor: str) -> None: ...


def enrich_job(hub: Hub) -> tuple[str, EnrichJob] | None:
    """The configured enrich job (name and spec), or None."""
    for name, job in hub.config.hub.jobs.items():
        if isinstance(job, EnrichJob):
            return name, job
    return None


@dataclass
class Outcome:
    """What one attempt found, before it is settled."""

    status: str  # enriched, partial, not_found, skipped
    customer_id: int | None = None
    history: dict[str, Any] | None = None
    error: str | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    permanent: bool = False  # partial for a reason no retry mends: not retried


@dataclass
class DrainResult:
    """What one `drain_enrichment` pass did, by ticket.

    `partial` counts tickets left partially enriched: `retried` of them are due again
    later, `failed` ran out of retries. `lost` were taken over by a newer event or another
    process before they settled (nothing was written for them); `errors` could not be
    settled (the store failed; they come back when their lease runs out).
    """

    claimed: int = 0
    enriched: int = 0
    not_found: int = 0
    skipped: int = 0
    partial: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0
    errors: int = 0

    def add(self, settled: str) -> None:
        if settled in ("retried", "failed"):
            self.partial += 1
        setattr(self, settled, getattr(self, settled) + 1)


async def enrich_new_ticket(hub: Hub, ticket_id: int, *, actor: str,
                            then: AfterEnrichment | None = None) -> None:
    """Enrich a committed new ticket (its queue row written with it), waited for up to the
    job's `inline_wait`, then run `then` on it. What is not done by then is left to the
    queue, whose drain runs its own `then` when it settles."""
    found = enrich_job(hub)
    await enrich_now(hub, ticket_id, actor=actor,
                     wait=found[1].inline_wait if found else None, then=then)


async def enrich_now(hub: Hub, ticket_id: int, *, actor: str, wait: float | None,
                     then: AfterEnrichment | None = None) -> bool:
    """Enrich one ticket now if its queue row is free, giving up after `wait` seconds
    (None: as long as the source's timeout allows), then run `then` on it. True when the
    attempt settled; False when another process holds the row, nothing is owed, or the wait
    ran out (the row is then handed back to the queue at once, and a fetch under way still
    fills the cache)."""
    if wait is not None and wait <= 0:
        return False
    found = enrich_job(hub)
    owner, now = worker_id(), datetime.now(UTC)
    with hub.sessions.begin() as session:
        claimed = queue.claim_ticket(session, ticket_id, owner=owner, now=now,
                                     lease=_lease(found, batches=1))
    if claimed is None:
        return False
    try:
        async with asyncio.timeout(wait):
            outcome = await _attempt(hub, claimed.ticket_id, found, actor=actor)
    except BaseException as exc:  # out of time, or cancelled: the queue takes it from here
        _release(hub, [claimed.id], owner=owner)
        if isinstance(exc, TimeoutError):
            return False
        raise
    settled = _settle(hub, claimed, outcome, found, owner=owner, actor=actor,
                      now=datetime.now(UTC))
    if settled != "lost":
        await _follow_up(then, hub, claimed, actor=actor)
    return settled != "lost"


async def drain_enrichment(hub: Hub, *, limit: int = 100, concurrency: int = 8,
                           owner: str | None = None, now: datetime | None = None,
                           actor: str | None = None,
                           then: AfterEnrichment | None = None) -> DrainResult:
    """Claim up to `limit` due queue rows, enrich `concurrency` tickets at a time, settle
    each (then run `then` on it) and count the outcomes. Safe to run in many
    processes at once: a row is leased to one claimer, and a claimer that dies leaves its
    rows to the next pass once their lease runs out.

    `now` is the queue's clock (which rows are due, when retries fall due); the default is
    the current time.
    """
    found = enrich_job(hub)
    owner = owner or worker_id()
    actor = actor or f"job:{found[0] if found else 'enrich'}"
    clock = now or datetime.now(UTC)
    concurrency = max(1, concurrency)
    with hub.sessions.begin() as session:
        claimed = queue.claim(session, owner=owner, limit=limit, now=clock,
                              lease=_lease(found, batches=math.ceil(limit / concurrency)))
    result = DrainResult(claimed=len(claimed))
    gate = asyncio.Semaphore(concurrency)
    unsettled = {row.id for row in claimed}

    async def one(row: queue.Claimed) -> None:
        async with gate:
            with tracing.resumed(row.traceparent):  # the ticket's trace, where it was queued
                await settle_one(row)

    async def settle_one(row: queue.Claimed) -> None:
        outcome = await _attempt(hub, row.ticket_id, found, actor=actor)
        try:
            settled = _settle(hub, row, outcome, found, owner=owner, actor=actor,
                              now=now or datetime.now(UTC))
        except Exception:  # the store failed: the lease runs out and the row comes back
            log.exception("settling the enrichment of ticket %s failed", row.ticket_id)
            settled = "errors"
        unsettled.discard(row.id)
        result.add(settled)
        if settled not in ("lost", "errors"):
            await _follow_up(then, hub, row, actor=actor)

    try:
        await asyncio.gather(*(one(row) for row in claimed))
    except BaseException:  # a graceful stop: what was not settled is claimable at once
        _release(hub, sorted(unsettled), owner=owner)
        raise
    return result


def _release(hub: Hub, row_ids: list[int], *, owner: str) -> None:
    with hub.sessions.begin() as session:
        for row_id in row_ids:
            queue.release(session, row_id, owner=owner, now=datetime.now(UTC))


def _lease(found: tuple[str, EnrichJob] | None, *, batches: int) -> timedelta:
    # A claimed row waits for the batches of rows ahead of it, each bounded by the timeout
    # (twice over with further sources: they start once the customer is found).
    timeout = 0.0
    if found is not None:
        timeout = found[1].source_timeout * (2 if found[1].sources else 1)
    return timedelta(seconds=batches * timeout + _LEASE_MARGIN)


async def _attempt(hub: Hub, ticket_id: int, found: tuple[str, EnrichJob] | None, *,
                   actor: str) -> Outcome:
    try:
        with tracing.span("enrichment.enrich", **{"hub.ticket_id": ticket_id}) as span:
            outcome = await _enrich(hub, ticket_id, found, actor=actor)
            if span is not None:
                span.set_attribute("hub.outcome", outcome.status)
            return outcome
    except Exception as exc:  # a bug or the store: the row is retried, the drain goes on
        log.exception("enrichment of ticket %s failed unexpectedly", ticket_id)
        source = found[1].connection if found else None
        return Outcome("partial", error=f"internal error ({type(exc).__name__})",
                       sources=[{"connection": source, "status": "failed",
                                 "error": f"internal error ({type(exc).__name__})"}])


async def _enrich(hub: Hub, ticket_id: int, found: tuple[str, EnrichJob] | None, *,
                  actor: str) -> Outcome:
    with hub.sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            return Outcome("skipped", error=f"no ticket {ticket_id}")
        mobile, email = ticket.contact_mobile, ticket.contact_email
        local = find_by_contact(session, mobile=mobile, email=email)
        customer_id = local.id if local else None
    if found is None:
        return Outcome("skipped", customer_id, error="no enrich job is configured")
    job_name, job = found
    actor = f"job:{job_name}"  # who calls the connection; the audit of the ticket says who asked
    # The job's own connection has `source_timeout` for the lookup and the history together.
    deadline = asyncio.get_running_loop().time() + job.source_timeout
    lookup_error, lookup_permanent = None, False
    if customer_id is None and not job.history_from_store:  # else: only what pulls stored
        try:
            async with asyncio.timeout_at(deadline):
                customer_id = await find_remote_customer(hub, job, mobile=mobile, email=email,
                                                         actor=actor)
        except (ConnectorError, RecordMappingError) as exc:
            lookup_error, lookup_permanent = str(exc), permanent(exc)
        except TimeoutError:
            lookup_error = timed_out(job.connection, job)
    external_id, attributes = _known(hub, customer_id)
    if lookup_error is not None or external_id is None:
        outcome = _no_customer(job, customer_id, lookup_error)
        outcome.permanent = lookup_permanent
        return _not_retried(outcome)
    primary = from_store(hub, job, customer_id) if job.history_from_store and customer_id \
        else from_primary(hub, job, external_id, deadline=deadline, actor=actor)
    parts = await asyncio.gather(
        primary,
        *(from_source(hub, job, source, attributes=attributes, mobile=mobile, email=email,
                      actor=actor) for source in job.sources))
    if job.sources:
        history = merge_histories([(part.entry["connection"], part.history) for part in parts])
    else:  # one system: its history as it sent it
        history = parts[0].history
    errors = [str(part.entry["error"]) for part in parts if part.failed]
    if errors:
        return _not_retried(Outcome(
            "partial", customer_id, history, "; ".join(errors), [part.entry for part in parts],
            permanent=all(part.permanent for part in parts if part.failed)))
    return Outcome("enriched", customer_id, history, sources=[part.entry for part in parts])


def _no_customer(job: EnrichJob, customer_id: int | None, lookup_error: str | None
                 ) -> Outcome:
    """The job's own connection found nobody, or failed looking: the further systems are
    not asked (their customer is not known)."""
    why = (f"{job.connection} failed finding the customer" if lookup_error
           else f"no customer in {job.connection}")
    primary = {"connection": job.connection, "status": "failed" if lookup_error
               else "not_found", "error": lookup_error}
    sources = [primary, *(skipped(s.connection, why).entry for s in job.sources)]
    if lookup_error is None:
        return Outcome("not_found", customer_id, sources=sources)
    return Outcome("partial", customer_id, error=lookup_error, sources=sources)


def _not_retried(outcome: Outcome) -> Outcome:
    """A partial outcome no retry mends says so: it is settled, not queued again."""
    if outcome.permanent and outcome.error:
        outcome.error += (" (not retried: a retry cannot mend this; once the connection or "
                          "mapping is fixed, the ticket is enriched again when its customer "
                          "changes)")
    return outcome


def _profile(customer: Customer, found: tuple[str, EnrichJob] | None) -> dict[str, Any]:
    """The customer's profile; history kept with the customer (`history_from_store`) shows
    as history, not again among the attributes."""
    profile = customer_profile(customer)
    kinds = set(found[1].history_from_store) if found else set()
    if kinds:
        profile["attributes"] = {name: value for name, value in profile["attributes"].items()
                                 if name not in kinds}
    return profile


def _known(hub: Hub, customer_id: int | None) -> tuple[str | None, dict[str, Any]]:
    """The customer's id in the job's connection, and their attributes."""
    if customer_id is None:
        return None, {}
    with hub.sessions() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            return None, {}
        return customer.external_id, dict(customer.attributes or {})


def _settle(hub: Hub, claimed: queue.Claimed, outcome: Outcome,
            found: tuple[str, EnrichJob] | None, *, owner: str, actor: str,
            now: datetime) -> str:
    """Write the outcome onto the ticket and settle its queue row, in one transaction.
    Returns enriched, not_found, skipped, retried, failed or lost (the lease was taken
    over meanwhile: nothing is written)."""
    retry_at = None
    if outcome.status == "partial" and found is not None and not outcome.permanent:
        if claimed.attempts < found[1].retry.attempts:
            retry_at = now + timedelta(seconds=found[1].retry.delay(claimed.attempts))
    for source in outcome.sources:
        source["attempt"] = claimed.attempts
        if retry_at is not None and source.get("status") == "failed":
            source["retry_at"] = retry_at.isoformat()
    with hub.sessions.begin() as session:
        retried_error = outcome.error if outcome.status == "partial" else None
        if not queue.settle(session, claimed.id, owner=owner, error=retried_error,
                            retry_at=retry_at, now=now):
            return "lost"
        ticket = session.get(Ticket, claimed.ticket_id)
        if ticket is None:
            return "skipped"
        customer = session.get(Customer, outcome.customer_id) if outcome.customer_id else None
        ticket.customer_id = customer.id if customer else None
        # a failure no retry mends ends here: the ticket says so (hub enrich retry re-arms it)
        failed_for_good = outcome.status == "partial" and outcome.permanent
        ticket.enrichment_status = FAILED if failed_for_good else outcome.status
        ticket.enrichment_error = outcome.error
        ticket.enrichment = stored_enrichment({
            "customer": _profile(customer, found) if customer else None,
            "history": outcome.history,
            "summary": history_summary(outcome.history),
            "sources": outcome.sources,
        })
        ticket.enriched_at = ticket.updated_at = datetime.now(UTC)
        hub.audit.append(session, [AuditEntry(
            actor, "ticket.enrich", f"ticket:{claimed.ticket_id}",
            outcome=FAILED if failed_for_good else outcome.status,
            detail={"customer_id": ticket.customer_id, "error": outcome.error,
                    "reason": claimed.reason, "attempt": claimed.attempts})])
    if outcome.status != "partial":
        return outcome.status
    return "retried" if retry_at is not None else "failed"


async def _follow_up(then: AfterEnrichment | None, hub: Hub, claimed: queue.Claimed, *,
                     actor: str) -> None:
    if then is None:
        return
    try:
        await then(hub, claimed.ticket_id, reason=claimed.reason, actor=actor)
    except Exception:  # the ticket is enriched and stays so; what follows is re-run later
        log.exception("what follows the enrichment of ticket %s failed", claimed.ticket_id)
