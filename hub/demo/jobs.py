"""The demo's scheduler section: one tick of `hub scheduler` fires every job that is due, in
this process, and the job list shows what ran and when each runs next."""

from __future__ import annotations

import asyncio

from rich.console import Console

from hub.cli.render.runs import jobs_table
from hub.core.pages import MAX_LIMIT, every_item
from hub.runtime import Hub
from hub.scheduler.local import LocalExecutor
from hub.scheduler.scheduler import Scheduler
from hub.scheduler.views import JobPublic, list_jobs

__all__ = ["scheduler_section"]


def _jobs(hub: Hub) -> list[JobPublic]:
    return list(every_item(lambda cursor: list_jobs(hub, cursor=cursor, limit=MAX_LIMIT)))


def scheduler_section(console: Console, hub: Hub) -> None:
    async def one_tick() -> list[str]:
        executor = LocalExecutor(hub)
        fired = await Scheduler(hub, executor).tick()
        await asyncio.gather(*executor.tasks.values())
        return [item.job for item in fired]

    before = {job.name: job.last_run_id for job in _jobs(hub)}
    fired = asyncio.run(one_tick())
    jobs = _jobs(hub)
    ran = [f"{job.name} (run #{job.last_run_id})" for job in jobs
           if job.name in fired and job.last_run_id != before.get(job.name)]
    idle = [name for name in fired if not any(name in line for line in ran)]
    said = [f"{_names(ran)} ran"] if ran else []
    if idle:
        said.append(f"{_names(idle)} had nothing owed, so recorded no run")
    console.print(f"One tick of the scheduler fired the {len(fired)} due jobs: "
                  f"{'; '.join(said) or 'none'}. Each holds a lease while it runs, so two "
                  "schedulers (or Celery workers on several machines) never run one job "
                  "twice at once.")
    console.print(jobs_table(jobs))
    console.print("Run them for good with [bold]hub scheduler[/] (or [bold]hub worker[/] + "
                  "[bold]hub scheduler --executor celery[/]); pause or run one now with "
                  "[bold]hub jobs pause|resume|trigger NAME[/].")


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
