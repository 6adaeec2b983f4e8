"""`hub tickets create|show|list|resolve`: tickets, enriched with the customer's history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.context import cli_context

if TYPE_CHECKING:
    from pydantic import ValidationError

    from hub.outbox import Resolution

__all__ = ["app"]

app = typer.Typer(help="Tickets, enriched with the customer's history.", no_args_is_help=True)


# The flags of `tickets create` named otherwise than the fields they fill.
_FLAGS = {"contact_name": "name", "contact_mobile": "mobile", "contact_email": "email"}


def _problems(exc: ValidationError, *, as_flags: bool) -> str:
    """Pydantic's errors as one line: `--flag: msg` for flags, `path: msg` for a file."""
    def where(loc: tuple[Any, ...]) -> str:
        path = ".".join(str(p) for p in loc)
        return f"--{_FLAGS.get(path, path)}" if as_flags else path or "resolution"

    return "; ".join(f"{where(e['loc'])}: {e['msg']}" for e in exc.errors())


@app.command("create")
def tickets_create(
    ctx: typer.Context,
    subject: Annotated[str, typer.Option(help="One line: what is wrong.")],
    description: Annotated[str, typer.Option()] = "",
    mobile: Annotated[str | None, typer.Option(help="The customer's mobile.")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option(help="The contact's name.")] = None,
    channel: Annotated[str, typer.Option()] = "phone",
) -> None:
    """Create a ticket and show it enriched with the customer's profile and history."""
    from pydantic import ValidationError

    from hub.cli.render.tickets import ticket_panel
    from hub.errors import InvalidRequestError
    from hub.tickets import TicketCreate, create_ticket

    try:
        data = TicketCreate(subject=subject, description=description, contact_mobile=mobile,
                            contact_email=email, contact_name=name,
                            channel=channel)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise InvalidRequestError(_problems(exc, as_flags=True)) from None
    cli = cli_context(ctx)
    hub = cli.ready_hub()
    cli.out.print(ticket_panel(cli.run(create_ticket(hub, data, actor=cli.actor))))


@app.command("show")
def tickets_show(ctx: typer.Context, ticket_id: int) -> None:
    """Show one ticket with its enrichment."""
    from hub.cli.render.tickets import ticket_panel
    from hub.tickets import get_ticket

    cli = cli_context(ctx)
    cli.out.print(ticket_panel(get_ticket(cli.stored_hub(migrate=False), ticket_id)))


@app.command("list")
def tickets_list(ctx: typer.Context, limit: int = 20) -> None:
    """The newest tickets."""
    from hub.cli.render.tickets import tickets_table
    from hub.tickets import list_tickets

    cli = cli_context(ctx)
    cli.out.print(tickets_table(list_tickets(cli.stored_hub(migrate=False), limit=limit)))


def _resolution(file: Path | None, *, note: str | None, refund: str | None, method: str,
                parts: list[str], customer_number: str | None) -> Resolution:
    """The resolution of a JSON file, with the flags given on top of it."""
    import json

    from pydantic import ValidationError

    from hub.errors import InvalidRequestError
    from hub.outbox import Resolution

    data: dict[str, Any] = json.loads(file.read_text("utf-8")) if file else {}
    if note:
        data["note"] = note
    if customer_number:
        data["customer_number"] = customer_number
    if refund:
        data["refund"] = {"amount": refund, "method": method}
    for item in parts:
        data.setdefault("parts", []).append(_part(item))
    try:
        return Resolution.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequestError(_problems(exc, as_flags=False)) from None


def _part(item: str) -> dict[str, str]:
    """`--part MATERIAL:QTY[@WAREHOUSE]` as a part of the resolution."""
    from hub.errors import InvalidRequestError

    material, _, rest = item.rpartition(":")
    qty, at, warehouse = rest.partition("@")
    if not material or not qty or (at and not warehouse):
        raise InvalidRequestError(
            f"--part '{item}': give MATERIAL:QTY or MATERIAL:QTY@WAREHOUSE, e.g. P-1001:2@WH01")
    part = {"material": material, "qty": qty}
    if warehouse:
        part["warehouse"] = warehouse
    return part


@app.command("resolve")
def tickets_resolve(
    ctx: typer.Context,
    ticket_id: int,
    note: Annotated[str | None, typer.Option(help="What was done.")] = None,
    refund: Annotated[str | None, typer.Option(help="Refund amount, e.g. 88.50.")] = None,
    method: Annotated[str, typer.Option(help="Refund method: wire or cash.")] = "wire",
    part: Annotated[list[str] | None, typer.Option(
        help="A spare part used, MATERIAL:QTY[@WAREHOUSE] (repeatable); without a "
             "warehouse the ERP mapping's or the connection's default is used.")] = None,
    customer_number: Annotated[str | None, typer.Option(
        help="The customer's number in the ERP.")] = None,
    file: Annotated[Path | None, typer.Option(
        help="A JSON resolution (note, refund, parts, solution) instead of the flags.")] = None,
) -> None:
    """Resolve a ticket; its refund, parts and reusable solution go to the outbox."""
    from hub.cli.render.tickets import ticket_panel
    from hub.tickets import get_ticket
    from hub.tickets.resolve import resolve_ticket

    resolution = _resolution(file, note=note, refund=refund, method=method, parts=part or [],
                             customer_number=customer_number)
    cli = cli_context(ctx)
    hub = cli.ready_hub()
    resolve_ticket(hub, ticket_id, resolution, actor=cli.actor)
    cli.out.print(ticket_panel(get_ticket(hub, ticket_id)))
