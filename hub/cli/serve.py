"""`hub serve`: the REST API and the console on the configured store; `hub openapi`: its
contract."""

from __future__ import annotations

import gc
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.context import cli_context

if TYPE_CHECKING:
    from hub.runtime import Hub

__all__ = ["openapi", "serve"]

_STARTUP_FAILURE = 3  # uvicorn's exit code when the app does not start


def serve(
    ctx: typer.Context, host: str = "127.0.0.1",
    port: Annotated[int, typer.Option(help="0: a free port (the start-up line says which).")
                    ] = 8000,
    access_log: Annotated[bool, typer.Option(
        help="Write a JSON line per request to stderr, with its request id (also answered "
             "in X-Request-Id) and, with tracing on, its trace id.")] = False,
) -> None:
    """Serve the REST API and the console (/console) on the configured store; says where
    it listens at start-up."""
    import uvicorn

    from hub.api import create_app
    from hub.api.access_log import AccessLog
    from hub.core.logs import configure_logging
    from hub.core.tracing import configure_tracing

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
            if self.started:
                _say_where(self, hub)

    settings = cli_context(ctx).settings
    configure_tracing()  # before the app is made: it decides whether requests are traced
    api = create_app(settings)
    hub = api.state.hub
    configure_tracing(redactor=hub.redactor)
    hub.config  # noqa: B018 -- a config that does not load stops here, exit 2
    configure_logging(settings, redactor=hub.redactor)
    if access_log:
        api.add_middleware(AccessLog, redactor=hub.redactor)
    server = Server(uvicorn.Config(api, host=host, port=port,
                                   log_config=None))  # uvicorn logs through ours
    server.run()
    if not server.started:
        raise SystemExit(_STARTUP_FAILURE)


def _say_where(server: Any, hub: Hub) -> None:
    """The start-up line on stderr: the address each socket listens on (the real port when
    0 was asked), the store, the config and where the console is."""
    addresses = []
    for listener in server.servers:
        for sock in listener.sockets:
            host, port = sock.getsockname()[:2]
            addresses.append(f"http://[{host}]:{port}" if ":" in host
                             else f"http://{host}:{port}")
    console = f"; the console at {addresses[0]}/console" if addresses else ""
    sys.stderr.write(f"hub serve: listening on {', '.join(addresses)} — store "
                     f"{hub.store.shown}, config {hub.settings.config}{console}\n")
    sys.stderr.flush()


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
