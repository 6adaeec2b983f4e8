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
import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.sdk import (
    AuthError,
    CallRecord,
    ConfigError,
    Connector,
    ConnectorError,
    RejectedError,
    Writer,
    WriteResult,
)

from ..audit import AuditEntry, call_entry
from ..config import RetrySpec, WritebackJob
from ..runs import HOST, finish_run, start_run
from ..runtime import Hub
from ..store.models import Run
from . import store

__all__ = ["DispatchOptions", "DispatchSummary", "Dispatcher", "dispatch"]

log = logging.getLogger("hub.outbox")

ACTOR = "outbox"
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
    status: str = "running"
    duration_ms: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


class Dispatcher:
    def __init__(self, hub: Hub, *, options: DispatchOptions | None = None,
                 trigger: str = "manual", transport: httpx.AsyncBaseTransport | None = None,
                 progress: Callable[[DispatchSummary], None] | None = None) -> None:
        self.hub = hub
        self.options = options or DispatchOptions()
        self.owner = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.trigger = trigger
        self._transport = transport
        self._progress = progress
        self._connectors: dict[str, Connector[Any]] = {}
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self.summary: DispatchSummary | None = None

    def stop(self) -> None:
        """Finish the writes in flight, claim no more (a graceful shutdown)."""
        self._stopping.set()

    async def run(self) -> DispatchSummary:
        with self.hub.sessions.begin() as session:
            run = start_run(session, job="outbox", kind="writeback", trigger=self.trigger)
            self.summary = summary = DispatchSummary(run_id=run.id)
        started = datetime.now(UTC)
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._loop()
            summary.status = "succeeded" if summary.dead == 0 else "partial"
        except BaseException:
            summary.status = "interrupted"
            for task in self._in_flight.values():
                task.cancel()
            self._release(list(self._in_flight))
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
            if not self._stopping.is_set():
                self._fill()
            if not self._in_flight:
                if self._stopping.is_set():
                    return
                wait = self._idle_wait()
                if wait is None:
                    return
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=wait)
                except TimeoutError:
                    pass
                continue
            await asyncio.wait(self._in_flight.values(), timeout=options.poll_seconds,
                               return_when=asyncio.FIRST_COMPLETED)

    def _fill(self) -> None:
        free = self.options.concurrency - len(self._in_flight)
        if free <= 0:
            return
        now = datetime.now(UTC)
        with self.hub.sessions.begin() as session:
            claimed = store.claim(session, owner=self.owner, limit=min(free, self.options.batch),
                                  now=now, lease=timedelta(seconds=self.options.lease_seconds))
        assert self.summary is not None
        self.summary.claimed += len(claimed)
        for row in claimed:
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
            writer = self._writer(row.connection)
            result = await writer.write(row.action, row.key, row.document,
                                        check_first=row.check_first, on_step=steps.append)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure is settled on the row; nothing escapes
            self._settle_failure(row, exc, steps[-1].step if steps else None, calls)
        else:
            self._settle_success(row, result, calls)
        if self._progress is not None and self.summary is not None:
            self._progress(self.summary)

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

    def _settle_success(self, row: store.Claimed, result: WriteResult,
                        calls: list[CallRecord]) -> None:
        assert self.summary is not None
        now = datetime.now(UTC)
        with self.hub.sessions.begin() as session:
            settled = store.settle_success(session, row.id, owner=self.owner, result=result,
                                           now=now)
            entries = [call_entry(ACTOR, call) for call in calls]
            if settled is None:
                self.summary.lost_leases += 1
            else:
                self.summary.done += 1
                entries.append(AuditEntry(
                    ACTOR, "outbox.write", _target(row), outcome="found" if result.found
                    else "ok", detail={"outbox_id": row.id, "connection": row.connection,
                                       "action": row.action, "key": row.key,
                                       "number": result.number, "vendor_id": result.id,
                                       "attempt": row.attempts}))
            self.hub.audit.append(session, entries)

    def _settle_failure(self, row: store.Claimed, exc: Exception, step: str | None,
                        calls: list[CallRecord]) -> None:
        assert self.summary is not None
        kind, message, final = _classify(exc)
        retry = self._retry_spec(row.job)
        retry_at = None
        if not final and row.attempts < retry.attempts:
            retry_at = datetime.now(UTC) + timedelta(seconds=_backoff(retry, row.attempts))
        elif not final:
            message = f"gave up after {row.attempts} attempts: {message}"
        now = datetime.now(UTC)
        with self.hub.sessions.begin() as session:
            settled = store.settle_failure(session, row.id, owner=self.owner, error=message,
                                           kind=kind, step=step, retry_at=retry_at, now=now)
            entries = [call_entry(ACTOR, call) for call in calls]
            if settled is None:
                self.summary.lost_leases += 1
            elif retry_at is not None:
                self.summary.retried += 1
            else:
                self.summary.dead += 1
                if len(self.summary.errors) < 100:
                    self.summary.errors.append({"outbox_id": row.id, "key": row.key,
                                                "error": message})
                entries.append(AuditEntry(
                    ACTOR, "outbox.dead_letter", _target(row), outcome=kind,
                    detail={"outbox_id": row.id, "connection": row.connection,
                            "action": row.action, "key": row.key, "error": message}))
            self.hub.audit.append(session, entries)
        if retry_at is None:
            log.warning("outbox row %s (%s %s) is a dead letter: %s", row.id, row.action,
                        row.key, message)

    def _retry_spec(self, job_name: str) -> RetrySpec:
        job = self.hub.config.hub.jobs.get(job_name)
        return job.retry if isinstance(job, WritebackJob) else RetrySpec()

    async def _heartbeat(self) -> None:
        period = max(0.05, self.options.lease_seconds / 3)
        while True:
            await asyncio.sleep(period)
            ids = list(self._in_flight)
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


def _backoff(retry: RetrySpec, attempts: int) -> float:
    step = min(retry.backoff_max, retry.backoff_initial * 2 ** (attempts - 1))
    return step * random.uniform(0.5, 1.0)


async def dispatch(hub: Hub, *, options: DispatchOptions | None = None,
                   trigger: str = "manual",
                   transport: httpx.AsyncBaseTransport | None = None) -> DispatchSummary:
    return await Dispatcher(hub, options=options, trigger=trigger, transport=transport).run()

