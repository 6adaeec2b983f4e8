"""The scheduler loop: which jobs are due, fired once each, handed to an executor.

Each job has a row in `job_schedules` with when it is next due. Firing a job is a guarded
UPDATE of that row (next due time and pending trigger as read), so of two schedulers
looking at the same due job, one fires it and the other sees it already moved on; the job's
lease then keeps a second run from starting while one is going (a job still running when
it falls due again is fired once it ends — ticks are coalesced, never queued up). A
scheduler that was down fires each overdue job once on start, then goes on from now.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.core.time import as_utc

from ..config import JobSpec, ScheduleSpec
from ..jobs import leases
from ..runtime import Hub
from ..store.models import JobSchedule
from .run import lease_name
from .timetable import next_after

__all__ = ["Executor", "Fired", "Scheduler", "first_due"]

log = logging.getLogger("hub.scheduler")


class Executor(Protocol):
    """Where fired jobs run: this process (asyncio) or Celery workers."""

    def busy(self, job: str) -> bool:
        """Whether this executor is running `job` now (beyond what the lease says)."""

    async def submit(self, job: str, trigger: str) -> None:
        """Start a run of `job` (returns at once)."""

    async def sweep(self) -> None:
        """Look after runs whose workers stopped (called every few seconds)."""

    async def shutdown(self, grace: float) -> None:
        """Stop in-flight work at its next checkpoint; wait up to `grace` seconds."""


@dataclass(frozen=True, slots=True)
class Fired:
    job: str
    trigger: str  # schedule or manual


def first_due(spec: ScheduleSpec | None, now: datetime) -> datetime | None:
    """When a job newly on a timetable is first due: at once for an interval, at the next
    matching time for cron."""
    if spec is None:
        return None
    return now if spec.every is not None else next_after(spec, now)


class Scheduler:
    """Fires due jobs into `executor`, one tick at a time."""

    def __init__(self, hub: Hub, executor: Executor, *, tick_seconds: float = 1.0,
                 sweep_seconds: float = 5.0,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.hub = hub
        self.executor = executor
        self.tick_seconds = tick_seconds
        self.sweep_seconds = sweep_seconds
        self.clock = clock or (lambda: datetime.now(UTC))

    def jobs(self) -> dict[str, JobSpec]:
        return {name: job for name, job in self.hub.config.hub.jobs.items() if job.enabled}

    def sync(self, session: Session, now: datetime) -> None:
        """Give every job a schedule row; a changed timetable is recomputed from now."""
        rows = {row.job: row for row in session.scalars(select(JobSchedule))}
        for name, job in self.jobs().items():
            spec = job.schedule
            text = spec.describe() if spec else None
            row = rows.get(name)
            if row is None:
                try:
                    with session.begin_nested():
                        session.add(JobSchedule(job=name, paused=False, schedule=text,
                                                next_due_at=first_due(spec, now),
                                                updated_at=now))
                except IntegrityError:
                    pass  # another scheduler added it at the same moment
            elif row.schedule != text:
                row.schedule, row.updated_at = text, now
                row.next_due_at = first_due(spec, now)
        session.flush()

    def due(self, now: datetime) -> list[Fired]:
        """Fire every job due at `now` whose lease is free; each at most once."""
        jobs = self.jobs()
        fired: list[Fired] = []
        with self.hub.sessions.begin() as session:
            self.sync(session, now)
            candidates = [row for row in session.scalars(select(JobSchedule))
                          if row.job in jobs and _is_due(row, now)]
            for row in candidates:
                job = jobs[row.job]
                if self.executor.busy(row.job) or leases.holder(
                        session, lease_name(row.job, job), now=now) is not None:
                    continue  # still running: fired once it ends
                trigger = "manual" if row.trigger_requested_at is not None else "schedule"
                if _take(session, row, job.schedule, now):
                    fired.append(Fired(row.job, trigger))
        return fired

    async def tick(self) -> list[Fired]:
        fired = self.due(self.clock())
        for item in fired:
            log.info("firing job %s (%s)", item.job, item.trigger)
            await self.executor.submit(item.job, item.trigger)
        return fired

    async def run(self, stop: asyncio.Event, *, grace: float = 30.0) -> None:
        """Tick until `stop` is set; then stop the executor's work at its checkpoints."""
        loop = asyncio.get_running_loop()
        last_sweep = 0.0
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                    if loop.time() - last_sweep >= self.sweep_seconds:
                        last_sweep = loop.time()
                        await self.executor.sweep()
                except Exception:  # a store hiccup must not end the scheduler
                    log.exception("scheduler tick failed; trying again")
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.tick_seconds)
                except TimeoutError:
                    pass
        finally:
            await self.executor.shutdown(grace)


def _is_due(row: JobSchedule, now: datetime) -> bool:
    if row.trigger_requested_at is not None:
        return True
    if row.paused or row.next_due_at is None:
        return False
    return as_utc(row.next_due_at) <= now


def _take(session: Session, row: JobSchedule, spec: ScheduleSpec | None,
          now: datetime) -> bool:
    """Move the row on from `now` if nobody else did since we read it."""
    scheduled = not row.paused and row.next_due_at is not None \
        and as_utc(row.next_due_at) <= now
    next_due = next_after(spec, now) if spec is not None and scheduled else row.next_due_at
    moved = session.execute(
        update(JobSchedule)
        .where(JobSchedule.job == row.job,
               JobSchedule.next_due_at.is_not_distinct_from(row.next_due_at),
               JobSchedule.trigger_requested_at.is_not_distinct_from(row.trigger_requested_at))
        .values(next_due_at=next_due, last_fired_at=now, trigger_requested_at=None,
                trigger_requested_by=None, updated_at=now)
        .execution_options(synchronize_session=False))
    return bool(getattr(moved, "rowcount", 0))
