"""`hub connectors list|new|spec|check`: the connector plugins and a probe of a connection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli.context import cli_context

__all__ = ["app"]

app = typer.Typer(help="Connector plugins.", no_args_is_help=True)


@app.command("list")
def connectors_list(ctx: typer.Context) -> None:
    """Connectors registered under the `hub.connectors` entry-point group."""
    from connectors.sdk.registry import available_connectors, load_connector
    from hub.cli.render.connectors import connectors_table

    rows = [(info, load_connector(info.name)) for info in available_connectors()]
    cli_context(ctx).out.print(connectors_table(rows))


@app.command("new")
def connectors_new(
    ctx: typer.Context,
    name: str,
    dest: Annotated[Path, typer.Option(help="Folder to create the plugin in.")] = Path("."),
) -> None:
    """Scaffold a connector plugin package that installs and passes its own tests."""
    from hub.admin.scaffold import create_plugin

    path = create_plugin(name, dest)
    cli_context(ctx).out.print(f"created {path}\n  pip install -e {path} && pytest {path}")


@app.command("spec")
def connectors_spec(ctx: typer.Context, name: str) -> None:
    """The JSON Schema of a connector's connection config (secrets marked writeOnly)."""
    import json

    from connectors.sdk.registry import load_connector

    schema = load_connector(name).Config.model_json_schema()
    cli_context(ctx).out.print_json(json.dumps(schema, ensure_ascii=False))


@app.command("check")
def connectors_check(
    ctx: typer.Context,
    connection: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Probe a configured connection: reachable, authenticated, permitted, latency."""
    import json
    from dataclasses import asdict

    from hub.cli.render.connectors import check_table

    cli = cli_context(ctx)
    hub = cli.ready_hub()  # the probe's calls are audited

    async def probe() -> Any:
        async with hub.connector(connection, actor=cli.actor) as connector:
            return await connector.check()

    result = cli.run(probe())
    if as_json:
        cli.out.print_json(json.dumps({"connection": connection, "ok": result.ok,
                                       **asdict(result)}, ensure_ascii=False))
    else:
        cli.out.print(check_table(connection, result))
    if not result.ok:
        raise typer.Exit(5)
