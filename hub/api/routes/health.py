"""/health: is the store reachable and its schema current?"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from hub.api.deps import HubDep
from hub.store.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """`degraded` when the store's schema is not the one this hub expects (migrate it)."""

    model_config = ConfigDict(populate_by_name=True, json_schema_extra={
        "examples": [{"status": "ok", "schema": "0009"}]})

    status: Literal["ok", "degraded"]
    # `schema` would shadow a BaseModel attribute: aliased.
    schema_: str | None = Field(alias="schema", description="The store's schema revision.")


@router.get("/health", response_model_by_alias=True)
def health(hub: HubDep) -> Health:
    current = current_revision(hub.engine)
    return Health(status="ok" if current == head_revision() else "degraded",
                  schema=current)
