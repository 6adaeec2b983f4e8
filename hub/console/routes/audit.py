"""The audit log: rows by actor, target, action and time (the filters of GET /audit, the
service `query_audit`), a page at a time, and the chain's status (`AuditLog.verify`, what
`hub audit verify` runs), masked for the person as the API masks its answers."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.audit.chain import VerifyResult
from hub.audit.query import query_audit
from hub.core.pages import DEFAULT_LIMIT, MAX_LIMIT
from hub.errors import InvalidRequestError
from hub.reports.recent import RecentAnswers
from hub.runtime import Hub

from ..auth import User
from ..web import admitted, blocking, console_of, masked, render

__all__ = ["routes"]

FILTERS = ("actor", "target", "action")
LIMITS = (25, 50, 100, 200)
VERIFY_REUSE_S = 60.0  # verifying walks the whole chain: one answer a minute per process

_VERIFIED: RecentAnswers[tuple[datetime, VerifyResult]] = RecentAnswers(size=4)


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


def chain_status(hub: Hub, *, fresh: bool = False) -> tuple[datetime, VerifyResult]:
    """The chain verified (keys, links, signed head, checkpoints), with when: reused for a
    minute per process unless `fresh`."""
    return _VERIFIED.get(hub.settings.database_url,
                         lambda: (datetime.now(UTC), hub.audit.verify()),
                         max_age_s=0.0 if fresh else VERIFY_REUSE_S)


@admitted("audit:read")
async def audit_page(request: Request, user: User) -> Response:
    hub = console_of(request).hub
    filters = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    since, until = _instant(request, "since"), _instant(request, "until")
    limit, cursor = _limit(request), request.query_params.get("cursor") or None
    page = await blocking(query_audit, hub.sessions, actor=filters["actor"] or None,
                          target=filters["target"] or None, action=filters["action"] or None,
                          since=since, until=until, cursor=cursor, limit=limit)
    verified_at, chain = await blocking(
        chain_status, hub, fresh=request.query_params.get("verify") == "now")
    return render(request, "audit.html", rows=masked(user, page, request)["items"],
                  next_cursor=page.next_cursor, first_page=cursor is None,
                  filters={**filters, "since": request.query_params.get("since", "")[:40],
                           "until": request.query_params.get("until", "")[:40]},
                  limit=limit, limits=LIMITS if limit in LIMITS else (*LIMITS, limit),
                  chain=chain, verified_at=verified_at)


routes = [
    Route("/audit", audit_page, methods=["GET"]),
]
