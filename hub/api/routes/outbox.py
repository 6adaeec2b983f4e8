"""/outbox and /dead-letters: what the hub owes other systems, and replaying what failed."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from hub.api.admission import admitted_router
from hub.api.deps import ActorDep, HubDep, ItemId, RowId, RowIdFilter
from hub.core.pages import DEFAULT_LIMIT, MAX_LIMIT, Page
from hub.outbox.views import (
    OutboxView,
    get_row,
    list_dead_letters,
    list_rows,
    replay_dead_letters,
)

router = admitted_router("outbox", tags=["outbox"])

_CURSOR = "`next_cursor` of the previous page"


_CURRENT_MAPPING = ("true (the default): a row whose job now uses another version of its "
                    "mapping is mapped again from its write-back document before it is sent; "
                    "false: the document is sent as it was made. Since 1.4.0.")


class ReplayRequest(BaseModel):
    """Which dead letters to put back in the outbox."""

    model_config = {"json_schema_extra": {"examples": [{"ids": [12, 13]}, {"ids": None}]}}

    ids: list[ItemId] | None = Field(
        default=None, description="Dead letters to replay; "
                                  "omitted or null: every dead letter.", examples=[[12, 13]])
    current_mapping: bool = Field(default=True, description=_CURRENT_MAPPING)


class ReplayResult(BaseModel):
    """The dead letters replayed."""

    model_config = {"json_schema_extra": {"examples": [{"replayed": [12, 13]}]}}

    replayed: list[int] = Field(description="Rows back in the outbox, due now.")


@router.get("/outbox")
def list_outbox(hub: HubDep,
                status: Annotated[Literal["pending", "done", "dead"] | None, Query()] = None,
                ticket_id: RowIdFilter = None,
                cursor: Annotated[str | None, Query(max_length=200, description=_CURSOR)] = None,
                limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                ) -> Page[OutboxView]:
    """Outbox rows matching every filter, newest first."""
    return list_rows(hub, status=status, ticket_id=ticket_id, cursor=cursor, limit=limit)


@router.get("/outbox/{row_id}")
def get_outbox_row(row_id: RowId, hub: HubDep) -> OutboxView:
    return get_row(hub, row_id)


@router.get("/dead-letters")
def dead_letters(hub: HubDep,
                 cursor: Annotated[str | None, Query(max_length=200, description=_CURSOR)] = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                 ) -> Page[OutboxView]:
    """Dead letters, newest first, with the reason each failed."""
    return list_dead_letters(hub, cursor=cursor, limit=limit)


@router.post("/dead-letters/{row_id}/replay")
def replay_one(row_id: RowId, hub: HubDep, actor: ActorDep,
               current_mapping: Annotated[bool, Query(description=_CURRENT_MAPPING)] = True,
               ) -> ReplayResult:
    return ReplayResult(replayed=replay_dead_letters(hub, [row_id], actor=actor,
                                                     current_mapping=current_mapping))


@router.post("/dead-letters/replay",
             responses={404: {"description": "One of `ids` is no dead letter."}})
def replay_many(body: ReplayRequest, hub: HubDep, actor: ActorDep) -> ReplayResult:
    return ReplayResult(replayed=replay_dead_letters(hub, body.ids, actor=actor,
                                                     current_mapping=body.current_mapping))
