"""/outbox and /dead-letters: what the hub owes other systems, and replaying what failed."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from hub.api.deps import HubDep
from hub.outbox.views import OutboxView, get_row, list_rows, replay_dead_letters

router = APIRouter(tags=["outbox"])


class ReplayRequest(BaseModel):
    ids: list[int] | None = Field(default=None, description="Dead letters to replay; "
                                  "omitted or null: every dead letter.", examples=[[12, 13]])


class ReplayResult(BaseModel):
    replayed: list[int] = Field(description="Rows back in the outbox, due now.")


@router.get("/outbox")
def list_outbox(hub: HubDep,
                status: Annotated[Literal["pending", "done", "dead"] | None, Query()] = None,
                ticket_id: Annotated[int | None, Query()] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[OutboxView]:
    return list_rows(hub, status=status, ticket_id=ticket_id, limit=limit)


@router.get("/outbox/{row_id}")
def get_outbox_row(row_id: int, hub: HubDep) -> OutboxView:
    return get_row(hub, row_id)


@router.get("/dead-letters")
def list_dead_letters(hub: HubDep,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[OutboxView]:
    return list_rows(hub, status="dead", limit=limit)


@router.post("/dead-letters/{row_id}/replay")
def replay_one(row_id: int, hub: HubDep) -> ReplayResult:
    return ReplayResult(replayed=replay_dead_letters(hub, [row_id], actor="api"))


@router.post("/dead-letters/replay")
def replay_many(body: ReplayRequest, hub: HubDep) -> ReplayResult:
    return ReplayResult(replayed=replay_dead_letters(hub, body.ids, actor="api"))
