"""`hub jobs …`, `hub runs …`, `hub scheduler` and `hub worker`: the jobs of hub.yaml, their
run history, and the processes that run them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.context import CliContext, cli_context

if TYPE_CHECKING:
    from hub.runtime import Hub
    from hub.scheduler.scheduler import Executor

__all__ = ["jobs_app", "runs_app", "scheduler", "worker"]

jobs_app = typer.Typer(help="The jobs of hub.yaml and how each last ran.", no_args_is_help=True)
runs_app = typer.Typer(help="Run history: every execution of a job, with its counts.",
                       no_args_is_help=True)


@jobs_app.command("list")
def jobs_list(ctx: typer.Context) -> None:
    """Every configured job: kind, connection, and its last run's status and times."""
    from hub.cli.render.runs import jobs_table
    from hub.core.pages import MAX_LIMIT, every_item
    from hub.scheduler.views import list_jobs

    cli = cli_context(ctx)
    hub = cli.stored_hub()
    cli.out.print(jobs_table(list(every_item(
        lambda cursor: list_jobs(hub, cursor=cursor, limit=MAX_LIMIT)))))


@jobs_app.command("pause")
def jobs_pause(ctx: typer.Context, job: str) -> None:
    """Stop a job's timetable (a run under way finishes; `hub jobs trigger` still runs it)."""
    from hub.scheduler.control import pause

    cli = cli_context(ctx)
    changed = pause(cli.ready_hub(), job, actor="cli")
    cli.out.print(f"{job}: paused" if changed else f"{job}: was paused already")


@jobs_app.command("resume")
def jobs_resume(ctx: typer.Context, job: str) -> None:
    """Put a paused job back on its timetable, from now (missed times are not made up)."""
    from hub.scheduler.control import resume

    cli = cli_context(ctx)
    changed = resume(cli.ready_hub(), job, actor="cli")
    cli.out.print(f"{job}: resumed" if changed else f"{job}: was not paused")


@jobs_app.command("trigger")
def jobs_trigger(
    ctx: typer.Context,
    job: str,
    here: Annotated[bool, typer.Option(
        "--here", help="Run it in this process now, instead of asking the scheduler.")] = False,
) -> None:
    """Run a job now: the running scheduler starts it at its next tick (within a second),
    or, with --here, this command runs it to the end."""
    cli = cli_context(ctx)
    hub = cli.ready_hub()
    if here:
        from hub.scheduler.run import run_job

        outcome = cli.run(run_job(hub, job, trigger="manual"))
        cli.out.print(f"{job}: run {outcome.run_id} {outcome.status} {outcome.detail}")
        return
    from hub.scheduler.control import request_run

    request_run(hub, job, actor="cli")
    cli.out.print(f"{job}: asked for; the scheduler runs it at its next tick "
                  "(see `hub jobs list`, `hub runs list --job " + job + "`)")


@runs_app.command("list")
def runs_list(
    ctx: typer.Context,
    job: Annotated[str | None, typer.Option(help="Only this job's runs.")] = None,
    status: Annotated[str | None, typer.Option(
        help="running, succeeded, partial, failed or interrupted.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """The newest runs with their counts (what `GET /runs` answers)."""
    from hub.cli.render.runs import runs_table
    from hub.jobs.run_queries import list_runs

    cli = cli_context(ctx)
    page = list_runs(cli.stored_hub(), job=job, status=status, limit=limit)
    cli.out.print(runs_table(page.items))


@runs_app.command("show")
def runs_show(ctx: typer.Context, run_id: int) -> None:
    """One run: timing, counts, retries, and the records it rejected with why."""
    from hub.cli.render.runs import run_panel
    from hub.jobs.run_queries import get_run

    cli = cli_context(ctx)
    cli.out.print(run_panel(get_run(cli.stored_hub(), run_id)))


def _running_hub(cli: CliContext) -> Hub:
    """The Hub of a long-running process: logging set up, the store current, hub.yaml
    loaded (a broken one stops here, with file and line)."""
    from hub.core.logs import configure_logging

    hub = cli.hub
    configure_logging(hub.settings, redactor=hub.redactor)
    hub.upgrade_db()
    hub.config  # noqa: B018 -- a broken hub.yaml stops here, with file and line
    return hub


def _serve_metrics(cli: CliContext) -> None:
    """Serve the metrics on HUB_METRICS_PORT, when it is set."""
    port = cli.hub.settings.metrics_port
    if port:
        from hub.admin.metrics import start_metrics_server

        start_metrics_server(cli.hub, port)
        cli.err.print(f"metrics on http://0.0.0.0:{port}/metrics")


def _executor(hub: Hub, name: str) -> Executor:
    from hub.errors import InvalidRequestError

    if name == "local":
        from hub.scheduler.local import LocalExecutor

        return LocalExecutor(hub)
    if name == "celery":
        from hub.scheduler.celery_app import CeleryExecutor, make_app

        return CeleryExecutor(hub, make_app(hub.settings))
    raise InvalidRequestError(f"--executor {name}: use local or celery")


def scheduler(
    ctx: typer.Context,
    executor: Annotated[str, typer.Option(
        help="local: run jobs in this process (asyncio); celery: send them to `hub worker`s "
             "through HUB_BROKER_URL.")] = "local",
    tick: Annotated[float, typer.Option(help="Seconds between looks at the timetable.",
                                        min=0.05)] = 1.0,
    grace: Annotated[float, typer.Option(
        help="On SIGTERM/SIGINT, seconds to let running jobs reach a checkpoint.")] = 30.0,
) -> None:
    """Run hub.yaml's jobs on their timetables until stopped (SIGTERM or Ctrl-C: running
    jobs stop at their next checkpoint and resume on the next run)."""
    import asyncio
    import signal

    from hub.scheduler.scheduler import Scheduler

    cli = cli_context(ctx)
    hub = _running_hub(cli)
    chosen = _executor(hub, executor)
    _serve_metrics(cli)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        cli.err.print(f"scheduler: {executor} executor, {len(hub.config.hub.jobs)} jobs; "
                      "SIGTERM or Ctrl-C stops it")
        await Scheduler(hub, chosen, tick_seconds=tick).run(stop, grace=grace)

    cli.run(main())


def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(
        help="Tasks at once (0: one per CPU).", min=0)] = 0,
    pool: Annotated[str, typer.Option(
        help="Celery pool: prefork (processes), threads, or solo (one task, this process).")
    ] = "prefork",
    name: Annotated[str | None, typer.Option(help="The worker's node name.")] = None,
) -> None:
    """A Celery worker running the hub's jobs (pull parts, write-backs, enrichment) sent
    by `hub scheduler --executor celery`; the broker is HUB_BROKER_URL, the store must be
    PostgreSQL (or another database every worker reaches)."""
    import os
    import socket
    import tempfile

    if pool == "prefork" and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # The forked children's vendor calls reach the metrics port through this folder
        # (set before prometheus_client is first imported).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hub-metrics-")

    from hub.scheduler.celery_app import make_app

    cli = cli_context(ctx)
    hub = _running_hub(cli)
    _serve_metrics(cli)
    celery = make_app(hub.settings)
    node = name or f"hub-{os.getpid()}@{socket.gethostname()}"
    celery.worker_main(["worker", f"--concurrency={concurrency or os.cpu_count() or 1}",
                        f"--pool={pool}", f"--loglevel={hub.settings.log_level}",
                        "-Q", hub.settings.celery_queue,
                        "-n", node,
                        "--without-gossip", "--without-mingle"])
