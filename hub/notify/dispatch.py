"""The notify dispatcher: sends the queue's due deliveries under leases, follows accepted
ones up, and settles each attempt with what the vendor can have done (`attempts`).

Any process may run it: right after a decision (the new firing's deliveries, so a message
still leaves within the ticket's request), the scheduler's notify tick and
`hub notify check-overdue` (every due delivery, every accepted one followed up), and
`hub notify dispatch` (until the queue is drained). A dispatcher that dies stops renewing
its leases; when they run out the next one takes the rows over. A send whose answer was
lost is sent again only where the vendor drops the copy (`resend_deduplicated`) or the rule
is `at_least_once`; otherwise it ends `unknown`, listed and replayable with dead letters.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from connectors.sdk.http import CallRecord
from connectors.sdk.messaging import Delivery
from hub.audit import AuditEntry, call_entry
from hub.config import NotifyJob, RetrySpec
from hub.core import tracing
from hub.core.owners import worker_id
from hub.runtime import Hub

from . import queue
from .attempts import RETRIED, Verdict, judge_error
from .firings import refresh_firings
from .send import (
    ConnectorPool,
    DeliveryRecord,
    FollowUp,
    follow_unit,
    resend_deduplicated,
    send_unit,
)

__all__ = ["DispatchOptions", "DispatchSummary", "NotifyDispatcher", "Settled", "call_audit"]

log = logging.getLogger("hub.notify")

_FOLLOW_WAIT = 5.0  # seconds before the first queued follow-up, doubling …
_FOLLOW_MAX = 600.0  # … up to this
_LOG_KEPT = 20  # attempts kept in a row's log
_GROUP_WAIT = 0.05  # seconds a settled attempt may wait for others to share its commit
_calls: contextvars.ContextVar[list[CallRecord] | None] = contextvars.ContextVar(
    "notify_calls", default=None)


def call_audit(hub: Hub, actor: str) -> Callable[[CallRecord], None]:
    """A connector's audit hook: inside a dispatcher's attempt, its HTTP calls are audited
    in the transaction that settles the attempt; elsewhere each one at once."""

    def on_call(call: CallRecord) -> None:
        buffered = _calls.get()
        if buffered is None:
            hub.audit.record([call_entry(actor, call)])
        else:
            buffered.append(call)

    return on_call


@dataclass(frozen=True)
class DispatchOptions:
    """How a dispatcher runs.

    Attributes:
        concurrency: deliveries in flight at once.
        lease_seconds: how long a claimed row stays ours without renewal.
        poll_seconds: how often an idle dispatcher looks again (drain, forever).
        mode: "drain" until nothing is pending (waiting out backoffs), "due" until nothing
            is due now, "forever" until stopped.
        batch: rows claimed per transaction.
        ids: only these deliveries (the ones a decision just queued).
        follow_all: follow every accepted delivery up now, due or not (check-overdue).
        follow: follow-ups right after a send was accepted, before leaving it queued.
    """

    concurrency: int = 8
    lease_seconds: float = 60.0
    poll_seconds: float = 0.5
    mode: str = "drain"
    batch: int = 32
    ids: tuple[int, ...] | None = None
    follow_all: bool = False
    follow: FollowUp = field(default_factory=FollowUp)


@dataclass(frozen=True, slots=True)
class Settled:
    """One attempt as it was settled: the row's new status and its record."""

    row: queue.Claimed
    status: str  # pending (retry), accepted, sent, partial, unknown, dead
    record: DeliveryRecord
    outcome: str  # the attempt's verdict (see attempts)
    follow_up: bool = False
    wait: float | None = None  # the vendor's documented wait (Retry-After, throttle codes)
    calls: tuple[CallRecord, ...] = ()  # the attempt's HTTP calls, audited when settled


@dataclass
class DispatchSummary:
    """What a dispatcher did: attempts by how they ended."""

    settled: list[Settled] = field(default_factory=list)
    lost_leases: int = 0

    def count(self, *statuses: str, follow_up: bool | None = None) -> int:
        return sum(s.status in statuses and (follow_up is None or s.follow_up == follow_up)
                   for s in self.settled)

    @property
    def retried(self) -> int:
        return self.count("pending")

    @property
    def maybe_delivered(self) -> int:
        return sum(s.outcome == "maybe_delivered" for s in self.settled)


class NotifyDispatcher:
    """Claims due deliveries in batches and sends up to `concurrency` at once."""

    def __init__(self, hub: Hub, *, options: DispatchOptions | None = None,
                 actor: str = "notify", run_id: int | None = None,
                 pool: ConnectorPool | None = None) -> None:
        self.hub = hub
        self.options = options or DispatchOptions()
        self.owner = worker_id()
        self.actor = actor
        self.run_id = run_id
        self.pool = pool or ConnectorPool(hub, actor="notify",
                                          audit_hook=call_audit(hub, "notify"))
        self._own_pool = pool is None
        self.summary = DispatchSummary()
        self._in_flight: set[int] = set()
        self._finished: list[Settled] = []
        self._stopping = asyncio.Event()
        self._closing = asyncio.Event()

    def stop(self) -> None:
        """Finish what is in flight, claim no more."""
        self._stopping.set()

    async def run(self) -> DispatchSummary:
        heartbeat = asyncio.create_task(self._heartbeat())
        committer = asyncio.create_task(self._group_commits())
        try:
            await self._loop()
        finally:
            self._closing.set()  # the committer settles what is left, then ends
            await committer
            heartbeat.cancel()
            await self._flush()  # raises if the store still refuses them
            if self._own_pool:
                await self.pool.aclose()
        return self.summary

    async def _group_commits(self) -> None:
        """Settle finished attempts together, one transaction every `_GROUP_WAIT` seconds
        at most (each attempt alone cost a commit, its audit rows and its HTTP calls' each
        another). The transaction runs in a thread: the event loop keeps waking the sends
        whose rate-budget slots come up meanwhile (one woken late gives its slot up)."""
        while not self._closing.is_set():
            try:
                await asyncio.wait_for(self._closing.wait(), timeout=_GROUP_WAIT)
            except TimeoutError:
                pass
            try:
                await self._flush()
            except Exception:  # the store is busy or gone: the next round tries them again
                log.exception("notify: settling %d attempts failed; trying again",
                              len(self._finished))

    async def _loop(self) -> None:
        """Keep `concurrency` attempts going and a batch claimed behind them: a new batch is
        claimed as soon as there is room for it, not when the last one has all settled (a
        slow attempt — a retry's backoff inside the connector — holds its own slot only)."""
        options = self.options
        gate = asyncio.Semaphore(options.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping.is_set():
                room = options.concurrency + options.batch - len(tasks)
                claimed = await self._claim(min(room, options.batch)) \
                    if room >= options.batch else []
                for row in claimed:
                    tasks.add(asyncio.create_task(self._one(row, gate)))
                if claimed and len(claimed) == options.batch:
                    await asyncio.sleep(0)  # let them start before claiming more
                    if len(tasks) >= options.concurrency + options.batch:
                        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    tasks = {t for t in tasks if not t.done()}
                    continue
                if tasks:  # nothing more due now: wait for one to settle, or a poll
                    await asyncio.wait(tasks, timeout=options.poll_seconds,
                                       return_when=asyncio.FIRST_COMPLETED)
                    tasks = {t for t in tasks if not t.done()}
                    continue
                if options.mode == "due" or options.ids is not None:
                    return
                if options.mode == "drain" and not self._pending():
                    return
                try:
                    await asyncio.wait_for(self._stopping.wait(),
                                           timeout=options.poll_seconds)
                except TimeoutError:
                    pass
        finally:
            if tasks:
                await asyncio.gather(*tasks)

    async def _claim(self, limit: int) -> list[queue.Claimed]:
        claimed = await asyncio.to_thread(self._claim_rows, limit)
        self._in_flight |= {row.id for row in claimed}
        return claimed

    def _claim_rows(self, limit: int) -> list[queue.Claimed]:
        options = self.options
        with self.hub.sessions.begin() as session:
            claimed = queue.claim(session, owner=self.owner, limit=limit,
                                  now=datetime.now(UTC),
                                  lease=timedelta(seconds=options.lease_seconds),
                                  ids=options.ids, follow_all=options.follow_all)
        return claimed

    def _pending(self) -> bool:
        with self.hub.sessions() as session:
            return queue.has_pending(session)

    async def _one(self, row: queue.Claimed, gate: asyncio.Semaphore) -> None:
        calls: list[CallRecord] = []
        _calls.set(calls)  # this task's context: its calls are settled with it
        async with gate:
            if row.status == "accepted":
                settled = await self._follow(row)
            elif row.previous_owner is not None:
                settled = await self._taken_over(row)
            else:
                settled = await self._send(row)
        self._finished.append(replace(settled, calls=tuple(calls)))

    async def _taken_over(self, row: queue.Claimed) -> Settled:
        """A row whose holder stopped renewing its lease (it died or stalled) mid-attempt:
        that attempt may have been delivered, so it is sent again only where a resend
        cannot duplicate; else it is `unknown` (replayable)."""
        verdict = Verdict("maybe_delivered", "outcome_unknown",
                          "the dispatcher sending it stopped before recording the answer")
        if row.guarantee == "at_least_once" or await self._dedupes(row):
            return await self._send(replace(row, maybe_delivered=row.maybe_delivered + 1))
        return await self._failed(row, tuple(t.label for t in row.targets), verdict)

    async def _heartbeat(self) -> None:
        period = max(0.05, self.options.lease_seconds / 3)
        while True:
            await asyncio.sleep(period)
            if self._in_flight:
                until = datetime.now(UTC) + timedelta(seconds=self.options.lease_seconds)
                with self.hub.sessions.begin() as session:
                    queue.renew(session, owner=self.owner, ids=list(self._in_flight),
                                until=until)

    # -- one attempt ------------------------------------------------------------------------

    async def _send(self, row: queue.Claimed) -> Settled:
        channel = "robot" if row.robot else "people"
        with tracing.span("notify.send", **{"hub.connection": row.connection,
                                           "hub.channel": channel,
                                           "hub.recipients": len(row.targets),
                                           "hub.attempt": row.attempts}) as span:
            settled = await self._attempt(row)
            if span is not None:  # the outcome, never who it went to
                span.set_attribute("hub.outcome", settled.record.status)
        return settled

    async def _attempt(self, row: queue.Claimed) -> Settled:
        labels = tuple(t.label for t in row.targets)
        try:
            delivery = await send_unit(self.pool, row.connection, row.robot, row.targets,
                                       row.message)
        except Exception as exc:  # every failure is settled on the row; nothing escapes
            return await self._failed(row, labels, judge_error(exc, redact=self._redact))
        if delivery.status == "pending":
            delivery = await self._follow_now(row, delivery)
        return self._delivered(row, labels, delivery, outcome="accepted"
                               if delivery.status == "pending" else "delivered")

    async def _follow_now(self, row: queue.Claimed, delivery: Delivery) -> Delivery:
        """The follow-ups right after acceptance; a failed one leaves it accepted."""
        for attempt in range(self.options.follow.attempts):
            if delivery.status != "pending":
                break
            if attempt:
                await asyncio.sleep(self.options.follow.interval)
            try:
                delivery = await follow_unit(self.pool, row.connection, delivery)
            except Exception as exc:
                text = self._redact(str(exc))
                return replace(delivery, detail=f"follow-up failed: {text}")
        return delivery

    async def _follow(self, row: queue.Claimed) -> Settled:
        record = DeliveryRecord.from_json(row.result or {
            "connection": row.connection, "targets": [], "status": "pending"})
        pending = Delivery(record.channel or "", "pending", message_id=record.message_id,
                           failed=record.failed)
        try:
            delivery = await follow_unit(self.pool, row.connection, pending)
        except Exception as exc:
            text = self._redact(str(exc))
            kept = replace(record, status="pending", detail=f"follow-up failed: {text}")
            return Settled(row, "accepted", kept, "follow_up_failed", follow_up=True)
        settled = self._delivered(row, record.targets, delivery, outcome="followed_up")
        return replace(settled, follow_up=True)

    def _delivered(self, row: queue.Claimed, labels: tuple[str, ...], delivery: Delivery, *,
                   outcome: str) -> Settled:
        delivery = _credit_duplicates(delivery, resent=row.maybe_delivered > 0)
        record = DeliveryRecord.of(row.connection, labels, delivery)
        status = {"pending": "accepted", "sent": "sent", "partial": "partial"}.get(
            delivery.status, "dead")
        if status == "dead":
            outcome = "refused_recipients"
        return Settled(row, status, record, outcome)

    async def _failed(self, row: queue.Claimed, labels: tuple[str, ...],
                      verdict: Verdict) -> Settled:
        record = DeliveryRecord(row.connection, labels, "failed", detail=verdict.message)
        again = verdict.outcome in RETRIED
        if verdict.outcome == "maybe_delivered":
            again = row.guarantee == "at_least_once" or await self._dedupes(row)
            if not again:
                unknown = replace(record, status="unknown", detail=(
                    f"maybe delivered (the answer was lost; the vendor cannot drop a resend): "
                    f"{verdict.message}"))
                return Settled(row, "unknown", unknown, verdict.outcome)
        if not again:
            return Settled(row, "dead", record, verdict.outcome)
        if row.attempts >= self._retry().attempts:
            gave_up = replace(record, detail=f"gave up after {row.attempts} attempts: "
                                             f"{verdict.message}")
            return Settled(row, "dead", gave_up, verdict.outcome)
        queued = replace(record, status="queued")
        return Settled(row, "pending", queued, verdict.outcome, wait=verdict.wait)

    async def _dedupes(self, row: queue.Claimed) -> bool:
        try:
            return await resend_deduplicated(self.pool, row.connection, row.robot)
        except Exception:  # no connector: nothing can be resent anyway
            return False

    def _retry(self) -> RetrySpec:
        jobs = [j for j in self.hub.config.hub.jobs.values() if isinstance(j, NotifyJob)]
        return jobs[0].retry if jobs else NotifyJob.model_fields["retry"].get_default(
            call_default_factory=True)

    def _redact(self, text: str) -> str:
        return self.hub.redactor.text(text)

    # -- settling ---------------------------------------------------------------------------

    async def _flush(self) -> None:
        """Record every finished attempt in one transaction: each row's outcome (if its
        lease is still ours), its firing's summary, the audit rows of its attempt and calls."""
        if not self._finished:
            return
        finished, self._finished = self._finished, []
        try:
            kept = await asyncio.to_thread(self._record, finished)
        except Exception:  # rolled back: settled by a later flush (not on a cancel, when
            self._finished = finished + self._finished  # the thread may still commit)
            raise
        self._in_flight -= {s.row.id for s in finished}
        self.summary.lost_leases += len(finished) - len(kept)
        self.summary.settled += kept
        for settled in kept:
            if settled.status == "dead":
                row = settled.row
                log.warning("notify delivery %s (rule %s, ticket %s) is a dead letter: %s",
                            row.id, row.rule, row.ticket_id, settled.record.detail)

    def _record(self, finished: list[Settled]) -> list[Settled]:
        now = datetime.now(UTC)
        with self.hub.sessions.begin() as session:
            next_at = {id(s): self._next_at(s, now) for s in finished}
            held = queue.settle_many(session, owner=self.owner, settled=[
                (s.row.id, _values(s, now, next_at[id(s)])) for s in finished])
            kept = [s for s in finished if s.row.id in held]  # the rest: another holder's
            entries: list[AuditEntry] = []
            for settled in finished:
                entries += [call_entry(self.actor, call) for call in settled.calls]
            for settled in kept:
                row = settled.row
                if settled.outcome == "throttled" and settled.status == "pending" and row.robot:
                    queue.defer_robot(session, connection=row.connection, robot=row.robot,
                                      until=next_at[id(settled)], now=now)
                entries += _audit(self.actor, settled, self.run_id)
            refresh_firings(session, {s.row.firing_id for s in kept}, now)
            self.hub.audit.append(session, entries)
        return kept

    def _next_at(self, settled: Settled, now: datetime) -> datetime:
        row = settled.row
        if settled.status == "accepted":
            wait = min(_FOLLOW_MAX, _FOLLOW_WAIT * 2.0 ** min(row.follow_ups, 16))
            return now + timedelta(seconds=wait)
        if settled.status != "pending":
            return now
        delay = self._retry().delay(row.attempts, jitter=True)
        return now + timedelta(seconds=max(delay, settled.wait or 0.0))


def _credit_duplicates(delivery: Delivery, *, resent: bool) -> Delivery:
    """After a resend of a send whose answer was lost, recipients the vendor left out as
    already having identical content (DingTalk 143106) got it from the earlier attempt."""
    if not resent or not delivery.duplicates or delivery.status == "pending":
        return delivery
    credited = set(delivery.duplicates)
    failed = tuple(r for r in delivery.failed if r not in credited)
    status: Literal["sent", "partial"] = "sent" if not failed else "partial"
    note = f"{len(credited)} had it from an earlier attempt whose answer was lost"
    return replace(delivery, status=status, failed=failed,
                   detail="; ".join(x for x in (delivery.detail, note) if x))


def _values(settled: Settled, now: datetime, next_at: datetime) -> dict[str, Any]:
    row = settled.row
    entry = {"attempt": row.attempts, "follow_up": row.follow_ups if settled.follow_up else None,
             "at": now.isoformat(), "outcome": settled.outcome,
             "status": settled.record.status, "detail": (settled.record.detail or "")[:300]}
    values: dict[str, Any] = {
        "status": settled.status, "result": settled.record.as_json(),
        "attempts_log": [*row.attempts_log, entry][-_LOG_KEPT:], "updated_at": now,
        "next_attempt_at": next_at,
        "maybe_delivered": row.maybe_delivered + (settled.outcome == "maybe_delivered"),
    }
    values["done_at"] = now if settled.status in ("sent", "partial", "dead", "unknown") else None
    failing = settled.status in ("dead", "unknown", "pending")
    values["error"] = settled.record.detail if failing else None
    values["error_kind"] = settled.outcome if failing else None
    return values


def _audit(actor: str, settled: Settled, run_id: int | None) -> list[AuditEntry]:
    row = settled.row
    action = "notify.follow_up" if settled.follow_up else "notify.send"
    detail = {"rule": row.rule, "delivery": row.id, "run": run_id, "attempt": row.attempts,
              "outcome": settled.outcome, "queue_status": settled.status,
              **settled.record.as_json()}
    entries = [AuditEntry(actor, action, f"ticket:{row.ticket_id}",
                          outcome=settled.record.status, detail=detail)]
    if settled.status == "dead":
        entries.append(AuditEntry(actor, "notify.dead_letter", f"ticket:{row.ticket_id}",
                                  outcome=settled.outcome, detail=detail))
    return entries

