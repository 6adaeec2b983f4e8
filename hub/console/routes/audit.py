"""The audit log: rows by actor, target, action and time (the filters of GET /audit, the
service `query_audit`), a page at a time, and the chain's status (`AuditLog.verify`, what
`hub audit verify` runs, in the background: hub/console/chain_check.py), masked for the
person as the API masks its answers."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.audit.query import query_audit
from hub.core.pages import DEFAULT_LIMIT, MAX_LIMIT
from hub.errors import InvalidRequestError

from ..auth import User
from ..chain_check import chain_status
from ..web import admitted, blocking, console_of, masked, render

__all__ = ["routes"]

FILTERS = ("actor", "target", "action")
LIMITS = (25, 50, 100, 200)


def _instant(request: Request, name: str) -> datetime | None:
    """A `datetime-local` field (read as UTC) or any ISO 8601 time with its offset."""
    text = request.query_params.get(name, "").strip()[:40]
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequestError(f"{name}: a time such as 2026-12-08T10:00 (UTC)") from None


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", "").strip()
    if not text:
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidRequestError(f"limit: 1 to {MAX_LIMIT}")
    return int(text)


@admitted("audit:read")
async def audit_page(request: Request, user: User) -> Response:
    hub = console_of(request).hub
    filters = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    since, until = _instant(request, "since"), _instant(request, "until")
    limit, cursor = _limit(request), request.query_params.get("cursor") or None
    page = await blocking(query_audit, hub.sessions, actor=filters["actor"] or None,
                          target=filters["target"] or None, action=filters["action"] or None,
                          since=since, until=until, cursor=cursor, limit=limit)
    chain = await blocking(chain_status, hub, fresh=request.query_params.get("verify") == "now")
    return render(request, "audit.html", rows=masked(user, page, request)["items"],
                  next_cursor=page.next_cursor, first_page=cursor is None,
                  filters={**filters, "since": request.query_params.get("since", "")[:40],
                           "until": request.query_params.get("until", "")[:40]},
                  limit=limit, limits=LIMITS if limit in LIMITS else (*LIMITS, limit),
                  chain=chain, without_verify=urlencode(
                      [(name, value) for name, value in request.query_params.multi_items()
                       if name not in ("verify", "cursor")]))


routes = [
    Route("/audit", audit_page, methods=["GET"]),
]
