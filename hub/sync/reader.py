"""The page reader: the parts of a run this worker reads at once, claimed under leases,
and the heartbeat that keeps the leases while it reads."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta

from connectors.sdk import Batch, ConnectorError, RetriableError
from connectors.sdk.http import CallRecord
from hub.audit import call_entry
from hub.config import PullJob
from hub.core import tracing
from hub.core.logs import log_context
from hub.core.owners import worker_id
from hub.core.time import as_utc_or_none
from hub.ingest.lookups import resolve_lookups
from hub.ingest.targets import pull_target
from hub.jobs import leases, parts
from hub.mapping import LookupTables, RecordMappingError
from hub.runtime import Hub
from hub.store.statistics import analyze_if_stale

from .page import advance_job_state, page_commits_async, store_batch
from .summary import Progress, read_summary
from .writer import PartWriter

__all__ = ["PartReader"]

log = logging.getLogger("hub.sync")


def _now() -> datetime:
    return datetime.now(UTC)


async def read_ahead(batches: AsyncIterator[Batch]) -> AsyncIterator[Batch]:
    """The batches of `batches`, each handed on once the next one is asked for: the source
    prepares the next page (and the request is on its way) while this one is stored. A
    failure reading the next page surfaces after this one is stored, as it would have."""
    pending: asyncio.Future[Batch] = asyncio.ensure_future(anext(batches))
    try:
        while True:
            try:
                batch = await pending
            except StopAsyncIteration:
                return
            pending = asyncio.ensure_future(anext(batches))
            await asyncio.sleep(0)  # the next request leaves before this page is stored
            yield batch
    finally:
        pending.cancel()
        await asyncio.wait([pending])
        if not pending.cancelled():
            pending.exception()  # retrieved: its outcome is nobody's now
        await batches.aclose()  # type: ignore[attr-defined]


class _StopReadingError(Exception):
    """The run is past its deadline, or a graceful stop was asked for."""


class PartReader:
    """The parts this worker reads at once, and the heartbeat that keeps their leases."""

    def __init__(self, hub: Hub, job: PullJob, name: str, run_id: int, *,
                 stop: asyncio.Event, deadline: datetime | None,
                 progress: Progress | None) -> None:
        self.hub, self.job, self.name, self.run_id = hub, job, name, run_id
        self.mapping = hub.mappings.get(job.mapping)
        self.owner = worker_id()
        self.run_owner = leases.run_owner(run_id)
        self.ttl = hub.settings.job_lease_seconds
        self.stop = stop
        self.deadline = as_utc_or_none(deadline)
        self.progress = progress
        self.held: set[int] = set()
        # Writes go to a thread (writer.py), except in an in-memory SQLite database: its
        # connections are one per thread, each a database of its own.
        url = hub.engine.url
        self._threaded = not (url.get_backend_name() == "sqlite"
                              and url.database in (None, "", ":memory:"))

    async def heartbeat(self) -> None:
        tables = [pull_target(self.job.target).table, "external_records"]
        while True:
            await asyncio.sleep(min(self.ttl / 3, 10.0))
            now = _now()
            with self.hub.sessions.begin() as session:
                kept = leases.renew(session, self.name, owner=self.run_owner, ttl=self.ttl,
                                    now=now)
                for slice_id in list(self.held):
                    parts.renew(session, slice_id, owner=self.owner, ttl=self.ttl, now=now)
            with self.hub.engine.begin() as connection:  # a big load outruns autovacuum
                analyzed = analyze_if_stale(connection, tables)
            if analyzed:
                log.info("run %s: refreshed the planner's statistics of %s", self.run_id,
                         ", ".join(analyzed))
            if not kept:
                log.warning("run %s lost the lease of job %s: stopping", self.run_id,
                            self.name)
                self.stop.set()

    def _stopping(self) -> bool:
        return self.stop.is_set() or (self.deadline is not None and _now() >= self.deadline)

    async def loop(self, _reader_no: int) -> None:
        while not self._stopping():
            with self.hub.sessions.begin() as session:
                claimed = parts.claim(session, self.run_id, owner=self.owner,
                                      worker=self.owner, ttl=self.ttl, now=_now())
                wait = None if claimed else parts.next_due(session, self.run_id, now=_now())
            if claimed is None:
                if not isinstance(wait, datetime):
                    return  # nothing pending, or every pending part is someone else's
                await self._sleep_until(wait)
                continue
            self.held.add(claimed.id)
            try:
                await self._read(claimed)
            except _StopReadingError:
                self._release(claimed)
                return
            except parts.LeaseLostError as exc:
                log.warning("run %s: %s", self.run_id, exc)
            except (ConnectorError, RecordMappingError) as exc:
                self._failed(claimed, exc)
            except BaseException:
                self._release(claimed)
                raise
            finally:
                self.held.discard(claimed.id)

    async def _sleep_until(self, due: datetime) -> None:
        delay = max(0.05, min((due - _now()).total_seconds(), self.ttl / 3))
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=delay)
        except TimeoutError:
            pass

    async def _read(self, claimed: parts.Claimed) -> None:
        with log_context(run_id=self.run_id, job=self.name, part=claimed.seq), tracing.span(
                "pull.part", **{"hub.job": self.name, "hub.run_id": self.run_id,
                                "hub.part": claimed.seq}):
            log.debug("reading part %s (%s) from %s", claimed.seq, claimed.key,
                      claimed.state or "its start")
            await self._read_part(claimed)

    async def _read_part(self, claimed: parts.Claimed) -> None:
        writer = PartWriter(threaded=self._threaded)
        try:
            await self._read_pages(claimed, writer)
            writer.finish()
        finally:
            writer.close()
        with self.hub.sessions.begin() as session:
            row = parts.locked(session, claimed.id, owner=self.owner)
            parts.finish(row, now=_now())
            session.flush()
            advance_job_state(session, self.name, self.run_id, row)

    async def _read_pages(self, claimed: parts.Claimed, writer: PartWriter) -> None:
        actor = f"job:{self.name}"

        def audit_call(call: CallRecord) -> None:  # in its own transaction, as by default
            writer.defer(functools.partial(self.hub.audit.record, [call_entry(actor, call)]))

        connector = self.hub.connector(self.job.connection, actor=actor, audit_hook=audit_call)
        stream = connector.stream(self.job.stream)
        counted = (0, 0)  # the connector's retries and rate-budget wait (ms) so far
        async with connector, aclosing(read_ahead(
                stream.read_slice(claimed.part, claimed.state))) as batches:
            async for batch in batches:
                with tracing.span("pull.page", **{"hub.job": self.name,
                                                 "hub.records": len(batch.records)}):
                    lookups = await resolve_lookups(self.hub, self.mapping, batch.records,
                                                    actor=actor)
                    stats = connector.http.stats
                    seen = (stats.retries, int(stats.budget_wait_s * 1000))
                    store = functools.partial(self._store_page, claimed, batch, lookups,
                                              key=stream.primary_key, counted=counted,
                                              seen=seen)
                    await writer.run(store)
                    counted = seen
                if self.progress:
                    self.progress(read_summary(self.hub, self.run_id))
                if self._stopping():
                    raise _StopReadingError

    def _store_page(self, claimed: parts.Claimed, batch: Batch, lookups: LookupTables | None,
                    *, key: str, counted: tuple[int, int], seen: tuple[int, int]) -> None:
        """Commit one page: its records, the part's checkpoint, the job's cursor and the
        audit rows, in one transaction guarded by the part's lease."""
        with self.hub.sessions.begin() as session:
            page_commits_async(session)
            row = parts.locked(session, claimed.id, owner=self.owner)
            audit = store_batch(session, self.job, self.mapping, row, batch.records, key=key,
                                actor=f"job:{self.name}", lookups=lookups,
                                warnings=batch.meta.get("warnings") or ())
            row.retries += seen[0] - counted[0]
            row.budget_wait_ms += seen[1] - counted[1]
            if batch.state is not None:
                row.state = batch.state
                advance_job_state(session, self.name, self.run_id, row)
            # Last, so the audit chain's head (one row every writer updates) is locked
            # only from here to the commit.
            self.hub.audit.append(session, audit)

    def _release(self, claimed: parts.Claimed) -> None:
        with self.hub.sessions.begin() as session:
            parts.release(session, claimed.id, owner=self.owner)

    def _failed(self, claimed: parts.Claimed, exc: Exception) -> None:
        retry = self.job.retry
        final = claimed.attempts >= retry.attempts or not isinstance(exc, RetriableError)
        log.warning("run %s part %s (%s) failed, attempt %s of %s: %s", self.run_id,
                    claimed.seq, claimed.key, claimed.attempts, retry.attempts, exc)
        try:
            with self.hub.sessions.begin() as session:
                parts.retry_later(session, claimed.id, owner=self.owner, error=str(exc),
                                  due=_now() + timedelta(
                                      seconds=0 if final else retry.delay(claimed.attempts)),
                                  final=final)
        except parts.LeaseLostError:
            pass
