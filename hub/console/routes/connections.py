"""Connections: each one's status (its health now and the last live check), "check now" (the
service POST /connections/{name}/check calls, audited as the person) and its health score's
history (hub.reports' health figure over the last windows)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.admin.connections import check_connection, list_connections
from hub.audit.query import AuditRow, query_audit
from hub.core.pages import MAX_LIMIT
from hub.errors import NotFoundError
from hub.reports import judged, recent_health_history
from hub.runtime import Hub

from ..auth import User
from ..messages import Translator, language_of
from ..web import admitted, blocking, console_of, masked, redirect, render
from .dashboard import HEALTH_WINDOWS, health_cards

__all__ = ["routes"]

HEALTH_HOURS = 24.0
CHECK_ACTION = "connection.check"


def _last_checks(hub: Hub) -> dict[str, AuditRow]:
    """The newest live check of each connection (the audit rows check_connection writes)."""
    page = query_audit(hub.sessions, action=CHECK_ACTION, target="connection:*",
                       limit=MAX_LIMIT)
    found: dict[str, AuditRow] = {}
    for row in page.items:  # newest first
        found.setdefault((row.target or "").removeprefix("connection:"), row)
    return found


@admitted("connections:read")
async def connections_page(request: Request, user: User) -> Response:
    hub = console_of(request).hub
    listed = await blocking(list_connections, hub, limit=MAX_LIMIT)
    # the dashboard's history (30 s reuse); the health now is judged from its last two windows
    health_at, history = await blocking(recent_health_history, hub, hours=HEALTH_HOURS,
                                        windows=HEALTH_WINDOWS)
    checks = await blocking(_last_checks, hub)
    t = Translator(language_of(request))
    cards = {card["health"].connection: card for card in health_cards(
        t, judged(history), history, size=80, spark_width=200)}
    return render(request, "connections.html",
                  connections=masked(user, listed, request)["items"], cards=cards,
                  checks={name: masked(user, row, request) for name, row in checks.items()},
                  may_check=user.may("connections:write"), hours=HEALTH_HOURS,
                  health_windows=HEALTH_WINDOWS, health_at=health_at,
                  checked=request.query_params.get("checked", "")[:100])


@admitted("connections:write")
async def check_now(request: Request, user: User) -> Response:
    """Probe the connection live, as POST /connections/{name}/check does; audited as the
    person. The page then shows the check's outcome (its audit row)."""
    name: str = request.path_params["name"]
    hub = console_of(request).hub
    if name not in hub.config.hub.connections:
        raise NotFoundError(f"no connection {name[:100]}")
    await check_connection(hub, name, actor=user.actor)
    return redirect(request, f"/connections?checked={quote(name)}#connection-{quote(name)}")


routes = [
    Route("/connections", connections_page, methods=["GET"]),
    Route("/connections/{name}/check", check_now, methods=["POST"]),
]
