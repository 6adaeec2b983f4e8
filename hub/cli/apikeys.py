"""`hub apikeys create|list|revoke`: API keys for the REST API, shown once, stored hashed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from hub.cli.context import cli_context

__all__ = ["app"]

app = typer.Typer(help="API keys for the REST API (shown once, stored hashed).",
                  no_args_is_help=True)


@app.command("create")
def apikeys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    role: Annotated[str, typer.Option(help="agent, integrator or admin.")],
    scope: Annotated[list[str] | None, typer.Option(help="An extra grant, e.g. pii; "
                                                         "repeatable.")] = None,
    expires: Annotated[str | None, typer.Option(help="90d, 12h, 30m, 2w or a date "
                                                     "(2027-01-01); none: never.")] = None,
) -> None:
    """Make an API key and print it — the only time it is shown."""
    from hub.access.apikeys import create_key, parse_expiry

    cli = cli_context(ctx)
    hub = cli.ready_hub()
    expires_at = parse_expiry(expires) if expires else None
    created = create_key(hub, name=name, role=role, scopes=tuple(scope or ()),
                         expires_at=expires_at, actor=cli.actor)
    info = created.info
    expiry = info.expires_at.isoformat() if info.expires_at else "never"
    cli.err.print(Text.assemble("API key ", (info.prefix, "bold"), f" ({info.name}, role "
                                f"{info.role}, expires {expiry}) — store it now, it is not "
                                "shown again:"), soft_wrap=True, highlight=False)
    # stdout is the key alone: `KEY=$(hub apikeys create …)`
    cli.out.print(created.key, soft_wrap=True, highlight=False, markup=False)


@app.command("list")
def apikeys_list(ctx: typer.Context) -> None:
    """Every API key: prefix, name, role, scopes, expiry, revocation, last use (no secrets)."""
    from hub.access.apikeys import list_keys
    from hub.cli.render.apikeys import keys_table

    cli = cli_context(ctx)
    cli.out.print(keys_table(list_keys(cli.stored_hub())))


@app.command("revoke")
def apikeys_revoke(
    ctx: typer.Context, prefix: Annotated[str, typer.Argument(help="The key's prefix.")]
) -> None:
    """Revoke a key; running API processes refuse it within their key cache (30 s)."""
    from hub.access.apikeys import revoke_key

    cli = cli_context(ctx)
    info = revoke_key(cli.ready_hub(), prefix, actor=cli.actor)
    cli.out.print(f"revoked API key {info.prefix} ({info.name})")
