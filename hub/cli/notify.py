"""`hub notify check-overdue`: the SLA rules on open tickets (the scheduler runs it too)."""

from __future__ import annotations

import typer

from hub.cli.context import cli_context

__all__ = ["app"]

app = typer.Typer(help="Notify rules (DingTalk, WeCom).", no_args_is_help=True)


@app.command("check-overdue")
def notify_check_overdue(ctx: typer.Context) -> None:
    """Follow pending sends up, then fire the SLA rules (age_hours …) on open tickets."""
    from hub.cli.render.notify import notify_summary
    from hub.notify.engine import check_overdue

    cli = cli_context(ctx)
    hub = cli.ready_hub()
    cli.out.print(notify_summary(cli.run(check_overdue(hub, actor=cli.actor))))
