"""The Celery executor: the same job code, run by `hub worker` processes on any machine.

The broker (Redis or RabbitMQ, `HUB_BROKER_URL`) only carries "work on run N" and "run job
X"; what is owed lives in the store (PostgreSQL), under leases. So a task delivered twice, or
a worker killed mid-task, costs nothing: a pull's parts are claimed one at a time under
leases and resume at their checkpoints, and the scheduler's sweep sends work again for a run
whose lease nobody renews any more.

Tasks:
- `hub.pull(run_id)`: plan the run if it is not planned yet, send `concurrency - 1`
  `hub.drain` tasks for the other workers, and read parts here too;
- `hub.drain(run_id)`: read parts of the run until none is left to claim;
- `hub.job(name, trigger)`: run a job of another kind (write-back dispatch, enrichment,
  import, notify) under its lease.
Each message carries the sender's W3C `traceparent` header (tracing on); the task runs in a
span of that trace.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery, signals
from sqlalchemy import select

from hub.core import tracing
from hub.core.settings import Settings

from ..errors import HubError
from ..jobs import leases
from ..runtime import Hub
from ..store.models import Run
from ..sync import JobBusyError, close_if_complete, drain, open_run, plan_run, pull_job
from .run import job_spec, run_job

__all__ = ["CeleryExecutor", "make_app"]

log = logging.getLogger("hub.worker")

_shutting_down = threading.Event()
_hubs: dict[str, Hub] = {}
_lock = threading.Lock()


@signals.worker_shutting_down.connect
def _on_shutdown(**_kwargs: Any) -> None:
    _shutting_down.set()  # in-flight parts stop at their next page and are handed back


def make_app(settings: Settings) -> Celery:
    """The hub's Celery app on `settings.broker_url` (tasks bound to `settings`' store)."""
    app = Celery("hub", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,  # a task lost with its worker is delivered again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a busy worker does not sit on queued runs
        task_ignore_result=True,
        task_default_queue=settings.celery_queue,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    key = settings.model_dump_json()

    def hub() -> Hub:
        with _lock:
            if key not in _hubs:
                _hubs[key] = Hub(settings)
            return _hubs[key]

    @app.task(name="hub.pull", bind=True)
    def pull(task: Any, run_id: int) -> None:
        with _traced(task, **{"hub.run_id": run_id}):
            asyncio.run(_pull(app, hub(), run_id))

    @app.task(name="hub.drain", bind=True)
    def drain_task(task: Any, run_id: int) -> None:
        with _traced(task, **{"hub.run_id": run_id}):
            asyncio.run(_drain(hub(), run_id))

    @app.task(name="hub.job", bind=True)
    def job_task(task: Any, name: str, trigger: str) -> None:
        with _traced(task, **{"hub.job": name, "hub.trigger": trigger}):
            asyncio.run(_job(hub(), name, trigger))

    return app


@contextmanager
def _traced(task: Any, **attributes: Any) -> Iterator[None]:
    """A task's span, in the trace of whoever sent it (the message's `traceparent` header,
    tracing on), exported as it ends."""
    try:
        with tracing.resumed(getattr(task.request, "traceparent", None)), tracing.span(
                f"celery {task.name}", **attributes):
            yield
    finally:
        tracing.flush()


def _send(app: Celery, hub: Hub, task: str, *args: Any) -> None:
    """Send `task`, with the current trace's W3C traceparent as a message header when
    tracing is on (a worker that predates it ignores the header)."""
    traceparent = tracing.traceparent()
    app.send_task(task, args=list(args), queue=hub.settings.celery_queue,
                  headers={"traceparent": traceparent} if traceparent else None)


def _running(hub: Hub, run_id: int) -> Run | None:
    with hub.sessions() as session:
        run = session.get(Run, run_id)
        return run if run is not None and run.status == "running" else None


async def _pull(app: Celery, hub: Hub, run_id: int) -> None:
    run = _running(hub, run_id)
    if run is None:
        return
    try:
        await plan_run(hub, run_id)
    except HubError as exc:
        log.warning("%s", exc)
        return
    for _ in range(pull_job(hub, run.job).concurrency - 1):
        _send(app, hub, "hub.drain", run_id)
    await _drain(hub, run_id)


async def _drain(hub: Hub, run_id: int) -> None:
    if _running(hub, run_id) is None:
        return
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_shutdown(stop))
    try:
        summary = await drain(hub, run_id, concurrency=1, stop=stop)
    finally:
        watcher.cancel()
    if summary is not None:
        log.info("run %s of %s: %s, %s read", run_id, summary.job, summary.status,
                 summary.read)


async def _watch_shutdown(stop: asyncio.Event) -> None:
    while not _shutting_down.is_set():
        await asyncio.sleep(0.2)
    stop.set()


async def _job(hub: Hub, name: str, trigger: str) -> None:
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_shutdown(stop))
    try:
        outcome = await run_job(hub, name, trigger=trigger, stop=stop)
        log.info("job %s: run %s %s", name, outcome.run_id, outcome.status)
    except JobBusyError as exc:
        log.info("%s", exc)
    except HubError as exc:
        log.warning("%s", exc)
    finally:
        watcher.cancel()


class CeleryExecutor:
    """Fires jobs as Celery tasks; sweeps runs whose workers stopped renewing them."""

    def __init__(self, hub: Hub, app: Celery) -> None:
        self.hub = hub
        self.app = app

    def busy(self, job: str) -> bool:  # noqa: ARG002 -- the lease in the store says it
        return False

    async def submit(self, job: str, trigger: str) -> None:
        spec = job_spec(self.hub, job)
        if spec.kind != "pull":
            with tracing.span("job.submit", **{"hub.job": job, "hub.trigger": trigger}):
                _send(self.app, self.hub, "hub.job", job, trigger)
            return
        try:
            run_id = open_run(self.hub, job, trigger=trigger, local=False)
        except JobBusyError as exc:
            log.info("%s", exc)
            return
        with tracing.span("job.submit", **{"hub.job": job, "hub.trigger": trigger}):
            _send(self.app, self.hub, "hub.pull", run_id)

    async def sweep(self) -> None:
        """Send work again for runs nobody works on: their lease ran out (every worker on
        them died, or the task was lost before a worker took it)."""
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        ttl = self.hub.settings.job_lease_seconds
        again: list[int] = []
        with self.hub.sessions.begin() as session:
            for run in session.scalars(select(Run).where(
                    Run.status == "running", Run.kind == "pull", Run.pid.is_(None))):
                if leases.holder(session, run.job, now=now) is not None:
                    continue  # being worked on (or a newer run holds the job)
                if leases.acquire(session, run.job, owner=leases.run_owner(run.id),
                                  run_id=run.id, ttl=ttl, now=now):
                    again.append(run.id)
        for run_id in again:
            if close_if_complete(self.hub, run_id) is None:
                log.warning("run %s: no worker renewed it; sending it to the workers again",
                            run_id)
                _send(self.app, self.hub, "hub.pull", run_id)

    async def shutdown(self, grace: float) -> None:
        """Nothing runs here: workers finish or hand back their parts themselves."""
