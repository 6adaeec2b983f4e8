"""`hub enrich drain`: one pass over the enrichment queue; `hub enrich retry`: one ticket
again now (a failed one too)."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.context import cli_context

__all__ = ["app"]

app = typer.Typer(help="The enrichment queue: tickets waiting for, or retrying, their "
                  "customer's history.", no_args_is_help=True)


@app.command("drain")
def enrich_drain(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Tickets to take in this pass.", min=1)] = 100,
    concurrency: Annotated[int | None, typer.Option(
        help="Tickets at once (default: the enrich job's concurrency).", min=1)] = None,
) -> None:
    """Enrich the tickets due in the queue (new ones, and partial ones due a retry): one
    pass; `hub scheduler` does this on the enrich job's schedule."""
    from hub.enrichment import drain_enrichment, enrich_job
    from hub.notify.engine import evaluate_enriched

    cli = cli_context(ctx)
    hub = cli.ready_hub()
    found = enrich_job(hub)
    result = cli.run(drain_enrichment(hub, limit=limit, concurrency=concurrency or (
        found[1].concurrency if found else 8), then=evaluate_enriched))
    cli.out.print(f"claimed {result.claimed}: enriched {result.enriched}, not found "
                  f"{result.not_found}, partial {result.partial} (retried {result.retried}, "
                  f"failed {result.failed}), lost {result.lost}")


@app.command("retry")
def enrich_retry(ctx: typer.Context, ticket_id: int) -> None:
    """Enrich TICKET again now, waiting for it: a ticket whose enrichment failed for good
    (not retried) once its cause is fixed, or any other. Its queue row is re-armed with a
    fresh retry budget."""
    from hub.cli.render.tickets import ticket_panel
    from hub.tickets import enrich_ticket, get_ticket

    cli = cli_context(ctx)
    hub = cli.ready_hub()
    cli.run(enrich_ticket(hub, ticket_id, actor=cli.actor))
    cli.out.print(ticket_panel(get_ticket(hub, ticket_id)))
