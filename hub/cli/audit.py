"""`hub audit tail|verify|checkpoint`: the keyed, hash-chained audit log."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from hub.cli.context import cli_context

__all__ = ["app"]

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@app.command("tail")
def audit_tail(
    ctx: typer.Context, n: Annotated[int, typer.Option("-n", help="How many rows.")] = 20
) -> None:
    """The newest audit rows."""
    from hub.cli.render.audit import audit_table

    cli = cli_context(ctx)
    cli.out.print(audit_table(cli.stored_hub(migrate=False).audit.tail(n)))


@app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check the keyed chain, its signed head and the checkpoints kept outside the store;
    exits 1 and names the first bad row if anything was altered or removed."""
    cli = cli_context(ctx)
    result = cli.stored_hub(migrate=False).audit.verify()
    if not result.ok:
        cli.err.print(Text.assemble(("audit chain broken", "red"),
                                    f" after {result.checked} good rows: ",
                                    result.problem or ""), soft_wrap=True)
        raise typer.Exit(1)
    cli.out.print(Text.assemble(("ok", "green"), f": {result.checked} audit rows, chain "
                                f"intact, {result.checkpoints} checkpoints matched"))
    if result.unkeyed:
        cli.err.print(Text.assemble(("warning", "yellow"),
                                    f": rows 1-{result.unkeyed} are unkeyed (written before "
                                    "the chain was keyed): anyone who can write the database "
                                    "could have rewritten them"), soft_wrap=True)


@app.command("checkpoint")
def audit_checkpoint(ctx: typer.Context) -> None:
    """Append a signed checkpoint of the chain's head to the checkpoint file (writers also
    do so every HUB_AUDIT_CHECKPOINT_SECONDS); rows removed after it are then detected."""
    cli = cli_context(ctx)
    point = cli.hub.audit.checkpoint()
    if point is None:
        cli.out.print("nothing to checkpoint: no keyed audit rows, or HUB_AUDIT_CHECKPOINTS "
                      "empty")
        return
    cli.out.print(f"checkpoint: row {point.seq} at {point.at}")
