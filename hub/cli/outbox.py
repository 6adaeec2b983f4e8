"""`hub outbox list|dispatch`, `hub dlq list|replay` and `hub reconcile erp`: the write-backs
owed to the vendor systems, their dead letters, and a check of what the ERP holds.

Reconciliation lives here, not beside sync: it compares the outbox's write-backs with the
ERP's bills, and its view is the outbox's.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.cli.context import cli_context

__all__ = ["dlq_app", "outbox_app", "reconcile_app"]

outbox_app = typer.Typer(help="Write-backs owed to the ERP and the KB, sent exactly once.",
                         no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: write-backs that failed for good; replayable.",
                      no_args_is_help=True)
reconcile_app = typer.Typer(help="Compare the hub's write-backs with the vendor systems.",
                            no_args_is_help=True)


@outbox_app.command("list")
def outbox_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="pending, done or dead.")] = None,
    ticket: Annotated[int | None, typer.Option(help="Only this ticket's rows.")] = None,
    limit: int = 50,
) -> None:
    """The newest outbox rows: what is owed, what was written (with the vendor's number)."""
    from hub.cli.render.outbox import outbox_table
    from hub.outbox.views import list_rows, outbox_depth

    cli = cli_context(ctx)
    hub = cli.stored_hub()
    depth = outbox_depth(hub)
    cli.out.print(outbox_table(
        list_rows(hub, status=status, ticket_id=ticket, limit=limit).items,
        title="Outbox — " + ", ".join(f"{n} {k}" for k, n in depth.items())))


@outbox_app.command("dispatch")
def outbox_dispatch(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(min=1, max=256,
                                             help="Writes in flight at once.")] = 8,
    mode: Annotated[str, typer.Option(
        help="drain: until nothing is pending (waits out backoffs); due: only what is due "
             "now; forever: keep polling (stop with Ctrl-C, which finishes what is in "
             "flight).")] = "drain",
    lease: Annotated[float, typer.Option(help="Lease seconds per claimed row.")] = 60.0,
) -> None:
    """Send due outbox rows through their connections, exactly once."""
    import asyncio
    import signal

    from hub.cli.render.outbox import dispatch_summary
    from hub.errors import InvalidRequestError
    from hub.outbox import Dispatcher, DispatchOptions

    if mode not in ("drain", "due", "forever"):
        raise InvalidRequestError(f"--mode {mode}: choose drain, due or forever")
    cli = cli_context(ctx)
    dispatcher = Dispatcher(cli.ready_hub(), options=DispatchOptions(
        concurrency=concurrency, mode=mode, lease_seconds=lease))

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, dispatcher.stop)
        return await dispatcher.run()

    summary = cli.run(main())
    cli.out.print(dispatch_summary(summary))
    if summary.dead:
        raise typer.Exit(4)


@dlq_app.command("list")
def dlq_list(ctx: typer.Context, limit: int = 50) -> None:
    """Dead letters, with the reason each failed (the vendor's field and message)."""
    from hub.cli.render.outbox import outbox_table
    from hub.outbox.views import list_dead_letters

    cli = cli_context(ctx)
    page = list_dead_letters(cli.stored_hub(), limit=limit)
    cli.out.print(outbox_table(page.items, title="Dead letters"))


@dlq_app.command("replay")
def dlq_replay(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
) -> None:
    """Put dead letters back in the outbox (after fixing the cause); the next dispatch
    completes each once, resuming at the step that failed."""
    from hub.errors import InvalidRequestError
    from hub.outbox.views import replay_dead_letters

    if bool(ids) == all_:
        raise InvalidRequestError("give dead letter ids or --all")
    cli = cli_context(ctx)
    replayed = replay_dead_letters(cli.ready_hub(), None if all_ else ids, actor=cli.actor)
    cli.out.print(f"replayed {len(replayed)} dead letters"
                  + (f": {', '.join(map(str, replayed))}" if replayed else "")
                  + ("; run `hub outbox dispatch` to send them" if replayed else ""))


@reconcile_app.command("erp")
def reconcile_erp(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="A date (2026-11-01) or ISO date-time.")],
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
) -> None:
    """Compare resolved tickets' write-backs with the ERP's bills; exits 1 on any finding
    (missing, duplicate, mismatched, unexpected, not written)."""
    from datetime import UTC, datetime

    from hub.cli.render.outbox import reconcile_view
    from hub.errors import InvalidRequestError
    from hub.outbox.reconcile import reconcile

    try:
        start = datetime.fromisoformat(since)
    except ValueError:
        raise InvalidRequestError(f"--since {since}: not a date or ISO date-time") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    cli = cli_context(ctx)
    report = cli.run(reconcile(cli.stored_hub(), since=start, connection=connection))
    cli.out.print(reconcile_view(report))
    if not report.ok:
        raise typer.Exit(1)
