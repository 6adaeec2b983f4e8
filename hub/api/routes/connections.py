"""/connections (listing without secrets, live check) and /webhook-events."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from hub.admin.connections import (
    CheckOutcome,
    ConnectionPublic,
    WebhookEventPublic,
    check_connection,
    list_connections,
    list_webhook_events,
)
from hub.api.admission import admitted_router
from hub.api.deps import HubDep
from hub.core.pages import DEFAULT_LIMIT, MAX_LIMIT, Page

from ..principal import Principal

router = admitted_router("connections", tags=["connections"])


def _actor(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return principal.actor if isinstance(principal, Principal) else "api"


@router.get("/connections")
def connections(hub: HubDep,
                cursor: Annotated[str | None, Query(max_length=1000, description="`next_cursor` "
                                                    "of the previous page")] = None,
                limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                ) -> Page[ConnectionPublic]:
    """The configured connections by name: type, description and settings, never a secret."""
    return list_connections(hub, cursor=cursor, limit=limit)


@router.post("/connections/{name}/check",
             responses={404: {"description": "No such connection."}})
async def check(name: str, request: Request, hub: HubDep) -> CheckOutcome:
    """Probe the system live: reachable, credentials accepted, permitted. Audited."""
    return await check_connection(hub, name, actor=_actor(request))


@router.get("/webhook-events")
def webhook_events(
        hub: HubDep,
        connection: Annotated[str | None, Query(max_length=100, examples=["dingtalk"])] = None,
        status: Annotated[str | None, Query(max_length=16, description="ticket, updated, "
                                            "ignored, skipped, failed…")] = None,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[WebhookEventPublic]:
    """Inbound callbacks the hub accepted, newest first. Payloads are masked without `pii`."""
    return list_webhook_events(hub, connection=connection, status=status, cursor=cursor,
                               limit=limit)
