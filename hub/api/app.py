"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub.runtime import Hub
from hub.settings import Settings

from .errors import install_error_handlers
from .routes import health, imports, kb, outbox, tickets, webhooks

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, hub: Hub | None = None) -> FastAPI:
    """The API on the store named by `settings`; an empty database is upgraded at start-up."""
    runtime = hub or Hub(settings or Settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.upgrade_db()
        yield
        if hub is None:
            runtime.close()

    app = FastAPI(title="Customer-service integration hub", version="0.1.0", lifespan=lifespan)
    app.state.hub = runtime
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(tickets.router)
    app.include_router(webhooks.router)
    app.include_router(imports.router)
    app.include_router(kb.router)
    app.include_router(outbox.router)
    return app
