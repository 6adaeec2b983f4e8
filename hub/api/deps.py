"""Dependencies shared by the routers, as Annotated aliases."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError

from hub.core.pages import MAX_ID
from hub.runtime import Hub

__all__ = ["ROW_ID_RANGE", "ActorDep", "HubDep", "Instant", "ItemId", "RowId", "RowIdFilter",
           "path_row_id", "query_value"]

# Row ids: every id column is a 32-bit INTEGER, so an id outside 1..2**31-1 names no row and
# is refused as a 422 naming it (a 404 would need a query PostgreSQL cannot even run).
ROW_ID_RANGE = f"A row id, 1 to {MAX_ID} (larger is refused as invalid)."
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description=ROW_ID_RANGE)]
RowIdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description=ROW_ID_RANGE)]
ItemId = Annotated[int, Field(ge=1, le=MAX_ID)]
_ROW_ID: TypeAdapter[int] = TypeAdapter(ItemId)


def path_row_id(request: Request, name: str) -> int:
    """The row id in the path parameter `name`, validated exactly as `RowId` (422 naming
    `path.<name>`), for a hot route that reads its parameters itself: FastAPI's extraction
    of a declared one costs more than the rest of such a route."""
    raw = request.path_params[name]
    try:
        return _ROW_ID.validate_python(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("path", name)}
                                      for error in exc.errors()]) from None


def query_value(request: Request, name: str) -> str | None:
    """The query parameter `name` as `request.query_params.get(name)` gives it (the last of
    repeated ones), for a hot route: a plain query string is split here rather than parsed
    into Starlette's multi-dict; one with escapes goes the usual way."""
    raw: bytes = request.scope.get("query_string") or b""
    if b"%" in raw or b"+" in raw:
        return request.query_params.get(name)
    found = None
    for pair in raw.decode("latin-1").split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            found = value
    return found


# RFC 3339, as the document's `format: date-time` says (pydantic alone would also take a
# number as Unix seconds, or a date without a time or a zone).
_RFC_3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def _rfc_3339(value: Any) -> Any:
    if isinstance(value, str) and not _RFC_3339.fullmatch(value):
        raise ValueError("expected a date and time with its offset (RFC 3339), "
                         "e.g. 2026-05-01T08:00:00Z")
    return value


Instant = Annotated[datetime, BeforeValidator(_rfc_3339)]


async def _hub(request: Request) -> Hub:  # async: no worker-thread hop per request
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(_hub)]


async def _actor(request: Request) -> str:
    """Who the audit log names for this request's changes: the caller (key or token)."""
    principal = getattr(request.state, "principal", None)
    return str(principal.actor) if principal is not None else "api"


ActorDep = Annotated[str, Depends(_actor)]
