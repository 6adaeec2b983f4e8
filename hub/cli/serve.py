"""`hub serve`: the REST API on the configured store."""

from __future__ import annotations

import typer

from hub.cli.context import cli_context

__all__ = ["serve"]


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
