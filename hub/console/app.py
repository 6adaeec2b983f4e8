"""The console's ASGI app: its pages, its static files and its error pages; `hub serve`
mounts it under /console beside the API (hub/api/app.py), on the same Hub."""

from __future__ import annotations

from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from hub.access.masking_rules import MaskingRules
from hub.errors import HubError
from hub.runtime import Hub

from .auth import ConsoleAuth
from .messages import Translator, language_of
from .routes import audit, connections, dashboard, imports, jobs, mappings, outbox, signin, tickets
from .web import Console, SignInRequired, clear_session, redirect, render

__all__ = ["PREFIX", "create_console"]

PREFIX = "/console"
STATIC = Mount("/static", StaticFiles(packages=[("hub.console", "static")]), name="static")


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    wanted = request.url.path.removeprefix(PREFIX) or "/"
    if request.url.query:
        wanted += f"?{request.url.query}"
    target = "/signin?ended=1" if exc.ended else "/signin"
    if request.method == "GET" and wanted not in ("/", "/signin"):
        target += ("&" if "?" in target else "?") + "next=" + quote(wanted, safe="")
    response = redirect(request, target)
    if exc.ended:
        clear_session(request, response)
    return response


async def _hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    return render(request, "error.html", status=exc.http_status, message=str(exc),
                  status_code=exc.http_status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    t = Translator(language_of(request))
    message = t("error.not_found") if exc.status_code == 404 else str(exc.detail)
    return render(request, "error.html", status=exc.status_code, message=message,
                  status_code=exc.status_code)


def create_console(hub: Hub, *, auth: ConsoleAuth | None = None) -> Starlette:
    """The console on `hub` (its API keys, its services, its masking rules)."""
    app = Starlette(routes=[*signin.routes, *dashboard.routes, *tickets.routes, *outbox.routes,
                            *jobs.routes, *connections.routes, *audit.routes,
                            *imports.routes, *mappings.routes,
                            STATIC],
                    exception_handlers={SignInRequired: _sign_in_first, HubError: _hub_error,
                                        HTTPException: _http_error})
    app.state.console = Console(hub=hub, auth=auth or ConsoleAuth(hub),
                                masking=MaskingRules(hub), prefix=PREFIX)
    return app
