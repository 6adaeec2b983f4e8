"""/audit: the audit log, queried by actor, target, action and time."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from hub.api.admission import admitted_router
from hub.api.deps import HubDep, Instant
from hub.audit.query import AuditRow, query_audit
from hub.core.pages import DEFAULT_LIMIT, MAX_LIMIT, Page

router = admitted_router("audit", tags=["audit"])

_MATCH = "Exact, or a prefix when it ends in `*`."


@router.get("/audit")
def audit(hub: HubDep,
          actor: Annotated[str | None, Query(max_length=200, description=_MATCH,
                                             examples=["api:*"])] = None,
          target: Annotated[str | None, Query(max_length=500, description=_MATCH,
                                              examples=["ticket:123"])] = None,
          action: Annotated[str | None, Query(max_length=100, description=_MATCH,
                                              examples=["ticket.*"])] = None,
          since: Annotated[Instant | None, Query(description="Inclusive (ISO 8601).")] = None,
          until: Annotated[Instant | None, Query(description="Exclusive (ISO 8601).")] = None,
          cursor: Annotated[str | None, Query(max_length=200)] = None,
          limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT) -> Page[AuditRow]:
    """Audit rows matching every filter, newest first, with their detail."""
    return query_audit(hub.sessions, actor=actor, target=target, action=action, since=since,
                       until=until, cursor=cursor, limit=limit)
