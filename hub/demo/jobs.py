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
from hub.scheduler.views import list_jobs

__all__ = ["scheduler_section"]


def scheduler_section(console: Console, hub: Hub) -> None:
    async def one_tick() -> list[str]:
        executor = LocalExecutor(hub)
        fired = await Scheduler(hub, executor).tick()
        await asyncio.gather(*executor.tasks.values())
        return [f"{item.job} ({item.trigger})" for item in fired]

    fired = asyncio.run(one_tick())
    console.print(f"One tick of the scheduler fired {len(fired)} due jobs: "
                  f"{', '.join(fired) or 'none'}. Each holds a lease while it runs, so two "
                  "schedulers (or Celery workers on several machines) never run one job "
                  "twice at once.")
    console.print(jobs_table(list(every_item(
        lambda cursor: list_jobs(hub, cursor=cursor, limit=MAX_LIMIT)))))
    console.print("Run them for good with [bold]hub scheduler[/] (or [bold]hub worker[/] + "
                  "[bold]hub scheduler --executor celery[/]); pause or run one now with "
                  "[bold]hub jobs pause|resume|trigger NAME[/].")
