"""The scheduler loop on real stores: due jobs fire once, missed times collapse into one run,
a running job is not fired again, two schedulers never both fire, pause/resume/trigger."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from hub.jobs import leases
from hub.runtime import Hub
from hub.scheduler.control import pause, request_run, resume
from hub.scheduler.local import LocalExecutor
from hub.scheduler.scheduler import Scheduler
from hub.store.models import AuditRecord, Customer, JobSchedule, Run

PULL = """\
customers:
  kind: pull
  connection: crm
  stream: customers
  mapping: crm_customer
  schedule: {every: 60s}
"""

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class Recorder:
    """An executor that only records what it was given."""

    def __init__(self) -> None:
        self.fired: list[tuple[str, str]] = []

    def busy(self, job: str) -> bool:
        return False

    async def submit(self, job: str, trigger: str) -> None:
        self.fired.append((job, trigger))

    async def sweep(self) -> None:
        pass

    async def shutdown(self, grace: float) -> None:
        pass


def _next_due(hub: Hub, job: str) -> datetime | None:
    with hub.sessions() as session:
        row = session.get_one(JobSchedule, job)
        due = row.next_due_at
    return due.replace(tzinfo=UTC) if due and due.tzinfo is None else due


async def test_interval_job_fires_at_once_then_each_period(jobs_hub: Callable[..., Hub]) -> None:
    hub = jobs_hub(PULL)
    recorder = Recorder()
    scheduler = Scheduler(hub, recorder)
    assert scheduler.due(T0) and recorder.fired == []  # due() fires; tick() submits
    assert scheduler.due(T0 + timedelta(seconds=30)) == []
    assert [f.job for f in scheduler.due(T0 + timedelta(seconds=60))] == ["customers"]
    assert _next_due(hub, "customers") == T0 + timedelta(seconds=120)


async def test_missed_schedule_runs_once_on_restart(jobs_hub: Callable[..., Hub]) -> None:
    hub = jobs_hub(PULL)
    assert len(Scheduler(hub, Recorder()).due(T0)) == 1
    # The hub was down for 3 hours: 180 ticks were missed; a new scheduler fires one run.
    later = T0 + timedelta(hours=3, seconds=7)
    restarted = Scheduler(hub, Recorder())
    assert [f.trigger for f in restarted.due(later)] == ["schedule"]
    assert restarted.due(later) == []
    assert restarted.due(later + timedelta(seconds=59)) == []
    assert _next_due(hub, "customers") == later + timedelta(seconds=60)


async def test_a_running_job_is_not_fired_again_until_it_ends(
        jobs_hub: Callable[..., Hub]) -> None:
    hub = jobs_hub(PULL)
    scheduler = Scheduler(hub, Recorder())
    with hub.sessions.begin() as session:
        assert leases.acquire(session, "customers", owner="elsewhere", ttl=3600, now=T0)
    assert scheduler.due(T0) == []
    assert scheduler.due(T0 + timedelta(minutes=5)) == []  # ticks coalesce while it runs
    with hub.sessions.begin() as session:
        leases.release(session, "customers", owner="elsewhere", now=T0 + timedelta(minutes=5))
    assert len(scheduler.due(T0 + timedelta(minutes=5, seconds=1))) == 1


def test_two_schedulers_never_fire_the_same_tick_twice(
        jobs_hub: Callable[..., Hub], database_url: str, make_hub: Any) -> None:
    hub = jobs_hub(PULL)
    twin = make_hub(database_url, config=hub.settings.config)
    fired: list[tuple[int, str]] = []
    lock = threading.Lock()
    for tick in range(12):
        now = T0 + timedelta(seconds=60 * tick)
        barrier = threading.Barrier(2)

        def look(who: Hub, name: str, at: datetime = now,
                 gate: threading.Barrier = barrier, n: int = tick) -> None:
            gate.wait()
            for item in Scheduler(who, Recorder()).due(at):
                with lock:
                    fired.append((n, f"{name}:{item.job}"))

        threads = [threading.Thread(target=look, args=(h, name))
                   for h, name in ((hub, "a"), (twin, "b"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    twin.close()
    assert sorted(n for n, _ in fired) == list(range(12))  # every tick fired exactly once


async def test_pause_stops_the_timetable_and_trigger_still_runs(
        jobs_hub: Callable[..., Hub]) -> None:
    hub = jobs_hub(PULL)
    scheduler = Scheduler(hub, Recorder())
    assert len(scheduler.due(T0)) == 1
    assert pause(hub, "customers", actor="ops") is True
    assert pause(hub, "customers", actor="ops") is False
    assert scheduler.due(T0 + timedelta(hours=1)) == []
    request_run(hub, "customers", actor="ops")
    assert [f.trigger for f in scheduler.due(T0 + timedelta(hours=1))] == ["manual"]
    assert scheduler.due(T0 + timedelta(hours=1)) == []  # the request was used up
    assert resume(hub, "customers", actor="ops") is True
    assert len(scheduler.due(datetime.now(UTC) + timedelta(seconds=1))) == 1
    with hub.sessions() as session:
        actions = session.scalars(sa.select(AuditRecord.action).where(
            AuditRecord.action.like("job.%")).order_by(AuditRecord.seq)).all()
    assert actions == ["job.pause", "job.trigger", "job.resume"]


async def test_local_executor_runs_due_pull_to_the_end(
        jobs_hub: Callable[..., Hub], crm_sandbox: Any) -> None:
    hub = jobs_hub(PULL)
    executor = LocalExecutor(hub)
    fired = await Scheduler(hub, executor).tick()
    assert [f.job for f in fired] == ["customers"]
    await asyncio.wait_for(executor.tasks["customers"], 60)
    with hub.sessions() as session:
        run = session.scalars(sa.select(Run)).one()
        assert (run.status, run.trigger, run.created) == ("succeeded", "schedule", 120)
        assert session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 120


async def test_graceful_shutdown_stops_at_a_checkpoint_and_the_next_run_resumes(
        jobs_hub: Callable[..., Hub], crm_sandbox: Any) -> None:
    hub = jobs_hub(PULL, page_size=10)
    httpx.post(f"{crm_sandbox.url}/_sandbox/faults",
               json={"count": 0, "latency_ms": 100}).raise_for_status()
    executor = LocalExecutor(hub)
    await Scheduler(hub, executor).tick()
    for _ in range(200):
        await asyncio.sleep(0.05)
        with hub.sessions() as session:
            if session.scalar(sa.select(sa.func.count()).select_from(Customer)) >= 30:
                break
    await executor.shutdown(grace=30)
    with hub.sessions() as session:
        first = session.scalars(sa.select(Run)).one()
        stored = session.scalar(sa.select(sa.func.count()).select_from(Customer))
    assert first.status == "interrupted" and "resumes" in (first.error or "")
    assert 30 <= stored < 120
    httpx.delete(f"{crm_sandbox.url}/_sandbox/faults").raise_for_status()

    executor = LocalExecutor(hub)
    request_run(hub, "customers", actor="ops")
    await Scheduler(hub, executor).tick()
    await asyncio.wait_for(executor.tasks["customers"], 60)
    with hub.sessions() as session:
        second = session.scalars(sa.select(Run).order_by(Run.id.desc())).first()
        assert second is not None and second.status == "succeeded"
        assert second.read <= 120 - stored + 10  # resumed at the checkpoint, not from zero
        assert session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 120
