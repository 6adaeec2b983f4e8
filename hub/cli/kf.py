"""`hub kf accounts|sync|reply|resend`: 微信客服 (WeCom kf) conversations as tickets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.context import cli_context

if TYPE_CHECKING:
    from rich.console import Console

    from hub.tickets.kf import KfReplyRecord

__all__ = ["app"]

app = typer.Typer(help="微信客服 (WeCom kf): sync customers' chats into tickets, reply.",
                  no_args_is_help=True)

_CONNECTION = typer.Option(help="The wecom connection (default: every one).")


@app.command("accounts")
def kf_accounts(ctx: typer.Context,
                connection: Annotated[str | None, _CONNECTION] = None) -> None:
    """List the kf accounts each connection serves."""
    from hub.tickets.kf import kf_connections
    from hub.tickets.kf.sync import kf_connector

    cli = cli_context(ctx)
    hub = cli.ready_hub()

    async def main() -> list[tuple[str, str, str]]:
        found = []
        for name in [connection] if connection else kf_connections(hub):
            connector = kf_connector(hub, name, actor=cli.actor)
            try:
                found += [(name, a.open_kfid, a.name) for a in await connector.kf_accounts()]
            finally:
                await connector.aclose()
        return found

    for name, open_kfid, title in cli.run(main()):
        cli.out.print(f"{name}\t{open_kfid}\t{title}", highlight=False)


@app.command("sync")
def kf_sync(
    ctx: typer.Context,
    connection: Annotated[str | None, _CONNECTION] = None,
    account: Annotated[list[str] | None, typer.Option(
        help="An open_kfid to sync (repeat; default: every account of the connection).")
    ] = None,
) -> None:
    """Pull new kf messages into tickets from each account's stored cursor (resumable: a
    killed run loses and doubles nothing)."""
    from hub.tickets.kf import kf_connections, sync_connection

    cli = cli_context(ctx)
    hub = cli.ready_hub()

    async def main() -> list[str]:
        lines = []
        for name in [connection] if connection else kf_connections(hub):
            for result in await sync_connection(hub, name, actor=cli.actor,
                                                accounts=account or None):
                lines.append(f"{name} {result.open_kfid}: {result.pages} pages, "
                             f"{result.stored} messages stored, {result.duplicates} seen "
                             f"before, {len(result.opened)} tickets opened, "
                             f"{len(result.joined)} joined")
        return lines

    for line in cli.run(main()):
        cli.out.print(line, highlight=False)


def _show(out: Console, record: KfReplyRecord) -> None:
    line = (f"reply {record.id} on ticket {record.ticket_id}: {record.status} "
            f"(msgid {record.msgid}, {record.attempts} attempt(s))")
    if record.error:
        line += f" — {record.error}"
    out.print(line, highlight=False)


@app.command("reply")
def kf_reply(
    ctx: typer.Context,
    ticket_id: Annotated[int, typer.Argument(help="The kf ticket.", min=1)],
    text: Annotated[str, typer.Argument(help="The reply (at most 2048 bytes).")],
) -> None:
    """Reply to a kf ticket's customer (send_msg), if WeCom's window allows: within 48 hours
    of the customer's last message and at most 5 replies since it."""
    from hub.tickets.kf import reply_to_ticket

    cli = cli_context(ctx)
    hub = cli.ready_hub()
    record = cli.run(reply_to_ticket(hub, ticket_id, text, actor=cli.actor))
    _show(cli.out, record)
    if record.status != "sent":
        raise typer.Exit(1)


@app.command("resend")
def kf_resend(
    ctx: typer.Context,
    reply_id: Annotated[int, typer.Argument(help="A reply whose outcome is unknown.", min=1)],
) -> None:
    """Send a reply whose answer was lost again, with the same msgid (never delivered
    twice: WeCom refuses a used msgid)."""
    from hub.tickets.kf import resend_reply

    cli = cli_context(ctx)
    hub = cli.ready_hub()
    record = cli.run(resend_reply(hub, reply_id, actor=cli.actor))
    _show(cli.out, record)
    if record.status != "sent":
        raise typer.Exit(1)
