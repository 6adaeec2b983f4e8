"""`hub sync run JOB`: a pull job to the end of its stream, with its progress on stderr."""

from __future__ import annotations

import typer

from hub.cli.context import cli_context

__all__ = ["app"]

app = typer.Typer(help="Pull jobs.", no_args_is_help=True)


@app.command("run")
def sync_run(ctx: typer.Context, job: str) -> None:
    """Run a pull job to the end of its stream, resuming from the last committed page."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from hub.cli.render.runs import run_summary
    from hub.core.logs import configure_logging
    from hub.sync import RunSummary, run_pull

    cli = cli_context(ctx)
    configure_logging(cli.hub.settings, redactor=cli.hub.redactor)
    hub = cli.ready_hub()
    with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                  TimeElapsedColumn(),
                  console=cli.err, transient=True) as bar:
        task = bar.add_task(f"{job}: starting")

        def progress(s: RunSummary) -> None:
            waited = f", {s.budget_wait_ms / 1000:.1f}s waiting on the rate budget" \
                if s.budget_wait_ms else ""
            bar.update(task, description=f"{job}: {s.read} read, {s.created} new, "
                       f"{s.updated} updated, {s.rejected} rejected{waited}")

        summary = cli.run(run_pull(hub, job, progress=progress))
    cli.out.print(run_summary(summary))
