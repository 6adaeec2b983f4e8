"""`hub serve`: the REST API on the configured store; `hub openapi`: its contract."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.context import cli_context

__all__ = ["openapi", "serve"]


def serve(ctx: typer.Context, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the REST API on the configured store."""
    import uvicorn

    from hub.api import create_app
    from hub.core.logs import configure_logging

    settings = cli_context(ctx).settings
    api = create_app(settings)
    api.state.hub.config  # noqa: B018 -- a config that does not load stops here, exit 2
    configure_logging(settings, redactor=api.state.hub.redactor)
    uvicorn.run(api, host=host, port=port, log_config=None)  # uvicorn logs through ours


def openapi(ctx: typer.Context, output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the document here instead of to stdout.")] = None,
            ) -> None:
    """Print the API's contract, the OpenAPI document `/openapi.json` serves (no server or
    store needed): for client generators and low-code platforms (docs/api.md)."""
    import json

    from hub.api import create_app

    document = create_app(cli_context(ctx).settings).openapi()
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
