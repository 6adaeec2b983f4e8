"""Dependencies shared by the routers, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from hub.runtime import Hub

__all__ = ["ActorDep", "HubDep", "RowId"]

# A row id in a path: the store's integers stop at 2**63 - 1 (larger is a 422, not a 500).
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


async def _hub(request: Request) -> Hub:  # async: no worker-thread hop per request
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(_hub)]


async def _actor(request: Request) -> str:
    """Who the audit log names for this request's changes: the caller (key or token)."""
    principal = getattr(request.state, "principal", None)
    return str(principal.actor) if principal is not None else "api"


ActorDep = Annotated[str, Depends(_actor)]
