"""The asyncio executor: fired jobs run as tasks of the scheduler's own process."""

from __future__ import annotations

import asyncio
import logging

from ..errors import HubError
from ..runtime import Hub
from ..sync import JobBusyError
from .run import run_job

__all__ = ["LocalExecutor"]

log = logging.getLogger("hub.scheduler")


class LocalExecutor:
    """Runs each fired job in this process; at most one task per job."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.stop = asyncio.Event()
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def busy(self, job: str) -> bool:
        task = self.tasks.get(job)
        return task is not None and not task.done()

    async def submit(self, job: str, trigger: str) -> None:
        self.tasks[job] = asyncio.create_task(self._run(job, trigger), name=f"job:{job}")

    async def _run(self, job: str, trigger: str) -> None:
        try:
            outcome = await run_job(self.hub, job, trigger=trigger, stop=self.stop)
            log.info("job %s: run %s %s %s", job, outcome.run_id, outcome.status,
                     outcome.detail)
        except JobBusyError as exc:
            log.info("%s", exc)
        except HubError as exc:
            log.warning("%s", exc)
        except Exception:
            log.exception("job %s crashed", job)

    async def sweep(self) -> None:
        """Nothing to do: a run of this process that died died with the process, and the
        next run of its job takes over its lease and resumes from its checkpoints."""

    async def shutdown(self, grace: float) -> None:
        self.stop.set()
        running = [task for task in self.tasks.values() if not task.done()]
        if not running:
            return
        log.info("waiting up to %gs for %d running job(s) to reach a checkpoint", grace,
                 len(running))
        _done, pending = await asyncio.wait(running, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
