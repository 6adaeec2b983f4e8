"""`hub serve`: the REST API on the configured store; `hub openapi`: its contract."""

from __future__ import annotations

import gc
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.context import cli_context

__all__ = ["openapi", "serve"]

_STARTUP_FAILURE = 3  # uvicorn's exit code when the app does not start


def serve(ctx: typer.Context, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the REST API on the configured store."""
    import uvicorn

    from hub.api import create_app
    from hub.core.logs import configure_logging

    class Server(uvicorn.Server):
        """uvicorn's server, which hides what start-up made from the garbage collector.

        The process holds ~170,000 objects once the app has started (FastAPI, pydantic,
        SQLAlchemy, the migrations), and a full collection walks them all: 0.1-0.3 s with
        every request waiting, a few times a minute under load. Frozen, they are never
        walked again; what requests leave behind is collected as before."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            gc.collect()
            gc.freeze()

    settings = cli_context(ctx).settings
    api = create_app(settings)
    api.state.hub.config  # noqa: B018 -- a config that does not load stops here, exit 2
    configure_logging(settings, redactor=api.state.hub.redactor)
    server = Server(uvicorn.Config(api, host=host, port=port,
                                   log_config=None))  # uvicorn logs through ours
    server.run()
    if not server.started:
        raise SystemExit(_STARTUP_FAILURE)


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
