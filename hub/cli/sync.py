"""`hub sync run JOB [--full-refresh]`: a pull job to the end of its stream, with its
progress on stderr; `hub sync reset JOB [--to VALUE]`: forget or set the job's cursor."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.context import cli_context

__all__ = ["app"]

app = typer.Typer(help="Pull jobs.", no_args_is_help=True)


@app.command("run")
def sync_run(
    ctx: typer.Context,
    job: str,
    full_refresh: Annotated[bool, typer.Option(
        "--full-refresh", help="Read the whole stream again, whatever the job's cursor "
        "(forgotten as the run starts; audited).")] = False,
) -> None:
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

        summary = cli.run(run_pull(hub, job, progress=progress, full_refresh=full_refresh,
                                   actor=cli.actor))
    cli.out.print(run_summary(summary))


@app.command("reset")
def sync_reset(
    ctx: typer.Context,
    job: str,
    to: Annotated[str | None, typer.Option(
        "--to", help="Set the cursor to this value (as the stream's cursor field writes "
        "it, e.g. 2026-03-01T00:00:00+08:00) instead of forgetting it.")] = None,
) -> None:
    """Forget a pull job's cursor (its next run reads the whole stream) or set it with --to;
    refused while the job runs; audited. Stored records stay."""
    from hub.sync import reset_state

    cli = cli_context(ctx)
    reset = reset_state(cli.ready_hub(), job, to=to, actor=cli.actor)
    before = "none" if reset.cursor_before is None else repr(reset.cursor_before)
    if reset.cursor_after is None:
        cli.out.print(f"{job}: cursor forgotten (was {before}); the next run reads the whole "
                      "stream")
    else:
        cli.out.print(f"{job}: cursor set to {reset.cursor_after!r} (was {before}); the next "
                      "run reads from there")
