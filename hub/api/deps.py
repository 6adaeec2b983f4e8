"""Dependencies shared by the routers, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import Field

from hub.pages import MAX_ID
from hub.runtime import Hub

__all__ = ["ActorDep", "HubDep", "ItemId", "RowId", "RowIdFilter"]

# Row ids: every id column is a 32-bit INTEGER, so an id outside 1..2**31-1 names no row and
# is refused as a 422 naming it (a 404 would need a query PostgreSQL cannot even run).
_ID_RANGE = f"A row id, 1 to {MAX_ID} (larger is refused as invalid)."
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description=_ID_RANGE)]
RowIdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description=_ID_RANGE)]
ItemId = Annotated[int, Field(ge=1, le=MAX_ID)]


async def _hub(request: Request) -> Hub:  # async: no worker-thread hop per request
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(_hub)]


async def _actor(request: Request) -> str:
    """Who the audit log names for this request's changes: the caller (key or token)."""
    principal = getattr(request.state, "principal", None)
    return str(principal.actor) if principal is not None else "api"


ActorDep = Annotated[str, Depends(_actor)]
