"""The outbox dispatcher: sends due rows through their connection's Writer, concurrently,
one row per ticket at a time, and settles each with its outcome.

Failures are classified by the SDK's error tree: a vendor refusal (RejectedError) or a config
problem becomes a dead letter at once, with the vendor's field and message; anything that may
pass (transient, rate-limited, outcome unknown, auth) is retried with exponential backoff
until the job's retry budget is spent, then becomes a dead letter. Each retry asks the vendor
first (`check_first`), so a write whose response was lost is never posted twice.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session

from connectors.sdk import AuthError, ConfigError, Connector, ConnectorError, RejectedError
from connectors.sdk.capabilities import Writer, WriteResult
from connectors.sdk.http import CallRecord
from hub.core import tracing
from hub.core.owners import worker_id
from hub.jobs.runs import RunStatus, close_runs_of, finish_run, mark_dead_runs, start_run

from ..audit import AuditEntry, call_entry
from ..config import RetrySpec, WritebackJob
from ..runtime import Hub
from ..store.models import Run
from . import store

__all__ = ["DispatchOptions", "DispatchSummary", "Dispatcher", "dispatch"]

log = logging.getLogger("hub.outbox")

ACTOR = "outbox"
_GROUP_WAIT = 0.01  # seconds a finished write may wait for others to share its commit
_calls: contextvars.ContextVar[list[CallRecord] | None] = contextvars.ContextVar(
    "outbox_calls", default=None)


@dataclass(frozen=True)
class DispatchOptions:
    """How a dispatcher runs.

    Attributes:
        concurrency: writes in flight at once (one per ticket at a time, whatever this is).
        lease_seconds: how long a claimed row stays ours without renewal; a dispatcher that
            dies releases its rows when this runs out.
        poll_seconds: how often an idle dispatcher looks for due rows.
        mode: "drain" runs until no row is pending (waiting out backoffs), "due" until no
            row is due now, "forever" until stopped.
        batch: rows claimed per transaction.
    """

    concurrency: int = 8
    lease_seconds: float = 60.0
    poll_seconds: float = 0.5
    mode: str = "drain"
    batch: int = 32


@dataclass
class DispatchSummary:
    run_id: int
    claimed: int = 0
    done: int = 0
    retried: int = 0
    dead: int = 0
    lost_leases: int = 0
    status: RunStatus = "running"
    duration_ms: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """A finished write, waiting for the next group commit."""

    row: store.Claimed
    calls: list[CallRecord]
    result: WriteResult | None = None
    error: Exception | None = None
    step: str | None = None


class Dispatcher:
    """Sends the outbox: claims due rows in batches (a few more than it can send, so a slot
    that frees up starts the next write without a round trip to the store), writes up to
    `concurrency` at once, and settles finished writes in group commits — one transaction for
    every write that finished meanwhile, with their calls' audit rows."""

    def __init__(self, hub: Hub, *, options: DispatchOptions | None = None,
                 trigger: str = "manual", transport: httpx.AsyncBaseTransport | None = None,
                 progress: Callable[[DispatchSummary], None] | None = None) -> None:
        self.hub = hub
        self.options = options or DispatchOptions()
        self.owner = worker_id()
        self.trigger = trigger
        self._transport = transport
        self._progress = progress
        self._connectors: dict[str, Connector[Any]] = {}
        self._queue: deque[store.Claimed] = deque()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._finished: list[_Outcome] = []
        self._stopping = asyncio.Event()
        self.summary: DispatchSummary | None = None

    def stop(self) -> None:
        """Finish the writes in flight, claim no more (a graceful shutdown)."""
        self._stopping.set()

    async def run(self) -> DispatchSummary:
        with self.hub.sessions.begin() as session:
            mark_dead_runs(session, "outbox")  # this host's dispatchers that died
            run = start_run(session, job="outbox", kind="writeback", trigger=self.trigger)
            self.summary = summary = DispatchSummary(run_id=run.id)
        started = datetime.now(UTC)
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            with tracing.span("outbox.dispatch", **{"hub.run_id": summary.run_id,
                                                   "hub.trigger": self.trigger}):
                await self._loop()
            summary.status = "succeeded" if summary.dead == 0 else "partial"
        except BaseException:
            summary.status = "interrupted"
            for task in self._in_flight.values():
                task.cancel()
            self._settle()  # what finished is recorded; what did not is released
            self._release([row.id for row in self._queue] + list(self._in_flight))
            raise
        finally:
            heartbeat.cancel()
            for connector in self._connectors.values():
                await connector.aclose()
            summary.duration_ms = int((datetime.now(UTC) - started).total_seconds() * 1000)
            self._finish_run(summary)
        return summary

    async def _loop(self) -> None:
        options = self.options
        while True:
            if self._stopping.is_set() and self._queue:
                self._release([row.id for row in self._queue])
                self._queue.clear()
            elif not self._stopping.is_set() and len(self._queue) <= options.concurrency // 2:
                self._claim()
            self._start()
            if not self._in_flight:
                self._settle()
                if self._stopping.is_set():
                    return
                if self._queue:
                    continue
                wait = self._idle_wait()
                if wait is None:
                    return
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=wait)
                except TimeoutError:
                    pass
                continue
            # Group commit: settle once enough writes finished, or the oldest waited long
            # enough; one write at a time settles at once (nothing to group).
            done, _ = await asyncio.wait(self._in_flight.values(), timeout=_GROUP_WAIT,
                                         return_when=asyncio.FIRST_COMPLETED)
            if len(self._finished) >= max(1, options.concurrency // 2) or not done:
                self._settle()

    def _claim(self) -> None:
        wanted = 2 * self.options.concurrency - len(self._queue) - len(self._in_flight)
        if wanted <= 0:
            return
        now = datetime.now(UTC)
        with self.hub.sessions.begin() as session:
            claimed = store.claim(session, owner=self.owner,
                                  limit=min(wanted, self.options.batch), now=now,
                                  lease=timedelta(seconds=self.options.lease_seconds))
            # A lease that ran out was a dispatcher's that stopped renewing: close its run.
            close_runs_of(session, "outbox", {row.previous_owner for row in claimed
                                              if row.previous_owner is not None})
        assert self.summary is not None
        self.summary.claimed += len(claimed)
        self._queue.extend(claimed)

    def _start(self) -> None:
        while self._queue and len(self._in_flight) < self.options.concurrency:
            row = self._queue.popleft()
            task = asyncio.create_task(self._send(row), name=f"outbox-{row.id}")
            self._in_flight[row.id] = task
            task.add_done_callback(lambda _t, row_id=row.id: self._in_flight.pop(row_id, None))

    def _idle_wait(self) -> float | None:
        """Seconds to sleep before looking again, or None to stop (nothing left to do)."""
        mode = self.options.mode
        if mode == "forever":
            return self.options.poll_seconds
        if mode == "due":
            return None
        with self.hub.sessions() as session:
            pending = store.has_pending(session)
        return self.options.poll_seconds if pending else None

    async def _send(self, row: store.Claimed) -> None:
        calls: list[CallRecord] = []
        _calls.set(calls)
        steps: list[WriteResult] = []
        try:
            with tracing.resumed(row.traceparent), tracing.span(
                    "outbox.write", **{"hub.connection": row.connection,
                                       "hub.action": row.action, "hub.outbox_id": row.id,
                                       "hub.ticket_id": row.ticket_id,
                                       "hub.attempt": row.attempts}):
                writer = self._writer(row.connection)
                result = await writer.write(row.action, row.key, row.document,
                                            check_first=row.check_first, on_step=steps.append)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure is settled on the row; nothing escapes
            self._finished.append(_Outcome(row, calls, error=exc,
                                           step=steps[-1].step if steps else None))
        else:
            self._finished.append(_Outcome(row, calls, result=result))

    def _writer(self, connection: str) -> Writer:
        connector = self._connectors.get(connection)
        if connector is None:
            connector = self.hub.connector(connection, actor=ACTOR, transport=self._transport,
                                           audit_hook=self._audit_call)
            self._connectors[connection] = connector
        if not isinstance(connector, Writer):
            raise ConfigError(f"connection '{connection}' cannot write documents",
                              connection=connection)
        return connector

    def _audit_call(self, call: CallRecord) -> None:
        buffered = _calls.get()
        if buffered is None:
            self.hub.audit.record([call_entry(ACTOR, call)])
        else:  # audited in the transaction that settles the row
            buffered.append(call)

    def _settle(self) -> None:
        """Record every finished write in one transaction, with its calls' audit rows."""
        if not self._finished:
            return
        finished, self._finished = self._finished, []
        now = datetime.now(UTC)
        dead: list[tuple[store.Claimed, str]] = []
        with self.hub.sessions.begin() as session:
            entries: list[AuditEntry] = []
            for outcome in finished:
                entries.extend(call_entry(ACTOR, call) for call in outcome.calls)
                if outcome.result is not None:
                    entry = self._settle_success(session, outcome.row, outcome.result, now)
                else:
                    assert outcome.error is not None
                    entry = self._settle_failure(session, outcome, now, dead)
                if entry is not None:
                    entries.append(entry)
            self.hub.audit.append(session, entries)
        for row, message in dead:
            log.warning("outbox row %s (%s %s) is a dead letter: %s", row.id, row.action,
                        row.key, message)
        if self._progress is not None and self.summary is not None:
            self._progress(self.summary)

    def _settle_success(self, session: Session, row: store.Claimed, result: WriteResult,
                        now: datetime) -> AuditEntry | None:
        assert self.summary is not None
        if not store.settle_success(session, row.id, owner=self.owner, result=result,
                                    now=now):
            self.summary.lost_leases += 1
            return None
        self.summary.done += 1
        return AuditEntry(ACTOR, "outbox.write", _target(row),
                          outcome="found" if result.found else "ok",
                          detail={"outbox_id": row.id, "connection": row.connection,
                                  "action": row.action, "key": row.key,
                                  "number": result.number, "vendor_id": result.id,
                                  "attempt": row.attempts})

    def _settle_failure(self, session: Session, outcome: _Outcome, now: datetime,
                        dead: list[tuple[store.Claimed, str]]) -> AuditEntry | None:
        assert self.summary is not None and outcome.error is not None
        row = outcome.row
        kind, message, final = _classify(outcome.error)
        retry = self._retry_spec(row.job)
        retry_at = None
        if not final and row.attempts < retry.attempts:
            retry_at = now + timedelta(seconds=retry.delay(row.attempts, jitter=True))
        elif not final:
            message = f"gave up after {row.attempts} attempts: {message}"
        settled = store.settle_failure(session, row.id, owner=self.owner, error=message,
                                       kind=kind, step=outcome.step, retry_at=retry_at, now=now)
        if not settled:
            self.summary.lost_leases += 1
            return None
        if retry_at is not None:
            self.summary.retried += 1
            return None
        self.summary.dead += 1
        dead.append((row, message))
        if len(self.summary.errors) < 100:
            self.summary.errors.append({"outbox_id": row.id, "key": row.key, "error": message})
        return AuditEntry(ACTOR, "outbox.dead_letter", _target(row), outcome=kind,
                          detail={"outbox_id": row.id, "connection": row.connection,
                                  "action": row.action, "key": row.key, "error": message})

    def _retry_spec(self, job_name: str) -> RetrySpec:
        job = self.hub.config.hub.jobs.get(job_name)
        return job.retry if isinstance(job, WritebackJob) else RetrySpec()

    async def _heartbeat(self) -> None:
        period = max(0.05, self.options.lease_seconds / 3)
        while True:
            await asyncio.sleep(period)
            ids = [row.id for row in self._queue] + list(self._in_flight)
            ids += [outcome.row.id for outcome in self._finished]
            if ids:
                until = datetime.now(UTC) + timedelta(seconds=self.options.lease_seconds)
                with self.hub.sessions.begin() as session:
                    store.renew(session, owner=self.owner, ids=ids, until=until)

    def _release(self, ids: list[int]) -> None:
        try:
            with self.hub.sessions.begin() as session:
                store.release(session, owner=self.owner, ids=ids)
        except Exception:  # noqa: BLE001 -- the leases run out on their own
            log.exception("could not release outbox leases")

    def _finish_run(self, summary: DispatchSummary) -> None:
        with self.hub.sessions.begin() as session:
            run = session.get_one(Run, summary.run_id)
            run.read, run.created, run.rejected = summary.claimed, summary.done, summary.dead
            run.retries = summary.retried
            run.errors = {"records": summary.errors} if summary.errors else None
            error = f"{summary.dead} writes became dead letters" if summary.dead else None
            finish_run(run, status=summary.status, error=error)


def _target(row: store.Claimed) -> str:
    return f"ticket:{row.ticket_id}" if row.ticket_id is not None else f"outbox:{row.id}"


def _classify(exc: Exception) -> tuple[str, str, bool]:
    """(kind, message, final): final errors go to dead letters without another try."""
    if isinstance(exc, RejectedError | ConfigError):
        return exc.kind, str(exc), True
    if isinstance(exc, AuthError | ConnectorError):
        return exc.kind, str(exc), False
    log.exception("outbox write failed unexpectedly", exc_info=exc)
    return "internal", f"{type(exc).__name__}: {exc}", False


async def dispatch(hub: Hub, *, options: DispatchOptions | None = None,
                   trigger: str = "manual",
                   transport: httpx.AsyncBaseTransport | None = None) -> DispatchSummary:
    return await Dispatcher(hub, options=options, trigger=trigger, transport=transport).run()

