"""`hub notify check-overdue|dispatch|queue|dead-letters|replay`: the SLA rules on open
tickets (the scheduler runs them too) and the notify send queue."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.cli.context import cli_context

__all__ = ["app"]

app = typer.Typer(help="Notify rules (DingTalk, WeCom) and their send queue.",
                  no_args_is_help=True)


@app.command("check-overdue")
def notify_check_overdue(ctx: typer.Context) -> None:
    """Send due deliveries and follow accepted ones up, then fire the SLA rules."""
    from hub.cli.render.notify import notify_summary
    from hub.notify.engine import check_overdue

    cli = cli_context(ctx)
    hub = cli.ready_hub()
    cli.out.print(notify_summary(cli.run(check_overdue(hub, actor=cli.actor))))


@app.command("dispatch")
def notify_dispatch(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(min=1, max=256,
                                             help="Deliveries in flight at once.")] = 8,
    mode: Annotated[str, typer.Option(
        help="drain: until nothing is left to send (waits out backoffs); due: only what is "
             "due now; forever: keep polling (Ctrl-C finishes what is in flight).")] = "drain",
    lease: Annotated[float, typer.Option(help="Lease seconds per claimed delivery.")] = 60.0,
) -> None:
    """Send the notify queue's due deliveries (and follow accepted ones up), under leases."""
    import asyncio
    import signal

    from hub.cli.render.notify import dispatch_report
    from hub.notify.dispatch import DispatchOptions, NotifyDispatcher
    from hub.notify.drain import dispatch_queue

    if mode not in ("drain", "due", "forever"):
        raise typer.BadParameter("mode is drain, due or forever", param_hint="--mode")
    cli = cli_context(ctx)
    hub = cli.ready_hub()
    dispatcher = NotifyDispatcher(hub, actor=cli.actor, options=DispatchOptions(
        concurrency=concurrency, mode=mode, lease_seconds=lease))

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, dispatcher.stop)
        return await dispatch_queue(hub, dispatcher=dispatcher, actor=cli.actor)

    cli.out.print(dispatch_report(cli.run(main())))


@app.command("queue")
def notify_queue(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(
        help="pending, accepted, sent, partial, unknown or dead.")] = None,
    limit: int = 50,
) -> None:
    """The newest queued deliveries, with their attempts' outcomes."""
    from hub.cli.render.notify import deliveries_table
    from hub.notify.views import list_deliveries, queue_counts

    cli = cli_context(ctx)
    hub = cli.stored_hub()
    counts = ", ".join(f"{n} {k}" for k, n in sorted(queue_counts(hub).items()))
    cli.out.print(deliveries_table(
        list_deliveries(hub, statuses=[status] if status else None, limit=limit),
        title=f"Notify queue — {counts or 'empty'}"))


@app.command("dead-letters")
def notify_dead_letters(ctx: typer.Context, limit: int = 50) -> None:
    """Dead letters (refused, or out of retries) and unknown (maybe delivered) sends."""
    from hub.cli.render.notify import deliveries_table
    from hub.notify.views import list_deliveries

    cli = cli_context(ctx)
    cli.out.print(deliveries_table(
        list_deliveries(cli.stored_hub(), statuses=["dead", "unknown"], limit=limit),
        title="Notify dead letters (dead) and maybe delivered (unknown)"))


@app.command("replay")
def notify_replay(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Delivery ids.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead or unknown one.")] = False,
) -> None:
    """Queue dead (or unknown) deliveries again, due now, then send them."""
    from hub.cli.render.notify import dispatch_report
    from hub.notify.dispatch import DispatchOptions
    from hub.notify.drain import dispatch_queue
    from hub.notify.views import replay_deliveries

    if not ids and not all_:
        raise typer.BadParameter("give delivery ids, or --all", param_hint="IDS")
    cli = cli_context(ctx)
    hub = cli.ready_hub()
    replayed = replay_deliveries(hub, None if all_ else ids, actor=cli.actor)
    cli.out.print(f"{len(replayed)} deliveries queued again: "
                  + (", ".join(map(str, replayed)) or "none"))
    if replayed:
        cli.out.print(dispatch_report(cli.run(dispatch_queue(
            hub, options=DispatchOptions(mode="due"), actor=cli.actor, trigger="replay"))))
