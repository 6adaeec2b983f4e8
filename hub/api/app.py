"""The FastAPI application factory."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace

from hub.console import PREFIX as CONSOLE_PREFIX
from hub.console import create_console
from hub.core import tracing
from hub.core.settings import Settings
from hub.runtime import Hub
from hub.tickets import TicketReader

from .admission import area_of
from .docs import install_docs
from .errors import install_error_handlers
from .masking import install_masking
from .middleware import install_middleware
from .routes import (
    audit,
    connections,
    customers,
    health,
    imports,
    jobs,
    kb,
    metrics,
    outbox,
    reports,
    runs,
    tickets,
    webhooks,
)

__all__ = ["create_app"]


DESCRIPTION = (
    "Every route needs credentials (an API key or an OAuth2 bearer JWT; send one, not both) "
    "except `/health`, the vendor-signed `/webhooks/{connection}`, and this contract itself: "
    "`/openapi.json`, `/docs` and `/redoc` are served without credentials, as they hold no "
    "data. Errors are `application/problem+json`.")

# Every router but these two admits only callers whose role holds its area (each is made
# by `admitted_router`): /health answers load balancers; /webhooks are verified by each
# vendor's own signature.
OPEN_ROUTERS: tuple[APIRouter, ...] = (health.router, webhooks.router)
ROUTERS: tuple[APIRouter, ...] = (
    tickets.router, customers.router, kb.router, imports.router, jobs.router, runs.router,
    metrics.router, outbox.router, audit.router, connections.router, reports.router)


def _check_admitted(router: APIRouter) -> None:
    open_routes = [getattr(route, "path", repr(route)) for route in router.routes
                   if area_of(route) is None]
    if open_routes:
        raise TypeError(f"{', '.join(open_routes)}: a protected router's routes must admit "
                        "their callers (make the router with admitted_router)")


def native_telemetry() -> TelemetryConfig | None:
    """FastAPI's own OpenTelemetry instrumentation: FastAPI's defaults when there is
    somewhere to send it (a tracer provider already installed, as `opentelemetry-instrument`
    does, or an exporter named by the standard `OTEL_*` variables), off otherwise.

    Left on, FastAPI asks the three global providers on every request whether one is set:
    a few microseconds of the agent's click path, for an answer known when the app is
    made. With the hub's own tracing on (hub.core.tracing, README "Tracing") it records a
    server span per request, the child of the caller's W3C `traceparent` when one is sent."""
    if tracing.enabled():  # the hub's own tracing: request spans, children of a traceparent
        return {"tracing": True, "metrics": False, "logs": False, "operation_spans": False}
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return {"tracing": False, "metrics": False, "logs": False}
    exporters = [value for name, value in os.environ.items() if name.startswith("OTEL_") and (
        name.endswith("_EXPORTER") or name.endswith("_ENDPOINT"))]
    installed = not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    if installed or any(value.strip().lower() not in ("", "none") for value in exporters):
        return None
    return {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings | None = None, *, hub: Hub | None = None) -> FastAPI:
    """The API on the store named by `settings`; an empty database is upgraded at start-up."""
    runtime = hub or Hub(settings or Settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.upgrade_db()
        # GET /tickets/{id} reads on the event loop's thread, through its own connection.
        app.state.ticket_reader = reader = TicketReader(runtime.engine)
        yield
        reader.close()
        auth = getattr(app.state, "authenticator", None)
        if auth is not None:
            auth.flush_denials()  # the counts of denial windows still open
        console.state.console.auth.flush_denials()  # and the console's
        if hub is None:
            runtime.close()

    app = FastAPI(title="Customer-service integration hub", version="0.1.0", lifespan=lifespan,
                  description=DESCRIPTION, docs_url=None, redoc_url=None,
                  telemetry=native_telemetry())
    app.state.hub = runtime
    install_error_handlers(app)
    install_middleware(app, runtime)
    install_masking(app, runtime)
    # Routes are matched in order: the agents' tickets first, the docs pages last.
    for router in ROUTERS:
        _check_admitted(router)
        app.include_router(router)
    for router in OPEN_ROUTERS:
        app.include_router(router)
    install_docs(app, open_routers=OPEN_ROUTERS)
    # The operations console: pages for people, on the same Hub and services (hub/console).
    console = create_console(runtime)
    app.mount(CONSOLE_PREFIX, console)
    return app

