"""The outbox and its dead letters: filter, see a row's document and the vendor's answer,
replay one or many (the services behind the API's /outbox and /dead-letters)."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.core.pages import MAX_ID
from hub.errors import InvalidRequestError, NotFoundError
from hub.outbox.views import get_row_detail, list_dead_letters, list_rows, replay_dead_letters

from ..auth import User
from ..web import admitted, blocking, console_of, masked, redirect, render

__all__ = ["routes"]

PAGE_SIZE = 50
OUTBOX_STATUSES = ("pending", "done", "dead")


def _id(text: str, name: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise InvalidRequestError(f"{name}: a row id, 1 to {MAX_ID}")
    return int(text)


@admitted("outbox:read")
async def outbox(request: Request, user: User) -> Response:
    status = request.query_params.get("status", "").strip()
    if status and status not in OUTBOX_STATUSES:
        raise InvalidRequestError(f"status: one of {', '.join(OUTBOX_STATUSES)}")
    ticket_text = request.query_params.get("ticket_id", "").strip()
    ticket_id = _id(ticket_text, "ticket_id") if ticket_text else None
    cursor = request.query_params.get("cursor") or None
    page = await blocking(list_rows, console_of(request).hub, status=status or None,
                          ticket_id=ticket_id, cursor=cursor, limit=PAGE_SIZE)
    shown = masked(user, page, request)
    return render(request, "outbox.html", rows=shown["items"], next_cursor=shown["next_cursor"],
                  filters={"status": status, "ticket_id": ticket_text},
                  statuses=OUTBOX_STATUSES, first_page=cursor is None)


@admitted("outbox:read")
async def outbox_row(request: Request, user: User) -> Response:
    row_id: int = request.path_params["row_id"]
    if not 1 <= row_id <= MAX_ID:
        raise NotFoundError(f"no outbox row {row_id}")
    row = await blocking(get_row_detail, console_of(request).hub, row_id)
    return render(request, "outbox_row.html", row=masked(user, row, request),
                  may_replay=user.may("outbox:write"))


@admitted("outbox:read")
async def dead_letters(request: Request, user: User) -> Response:
    cursor = request.query_params.get("cursor") or None
    page = await blocking(list_dead_letters, console_of(request).hub, cursor=cursor,
                          limit=PAGE_SIZE)
    shown = masked(user, page, request)
    replayed = request.query_params.get("replayed", "")
    return render(request, "dead_letters.html", rows=shown["items"],
                  next_cursor=shown["next_cursor"], first_page=cursor is None,
                  may_replay=user.may("outbox:write"),
                  replayed=[part for part in replayed.split(",") if part.isdigit()])


def _current_mapping(form: FormData) -> bool:
    """The form's "on the current mapping version": a hidden 0, then the box's 1 when
    ticked; a form without either replays on the current version (the API's default)."""
    values = form.getlist("current_mapping")
    return not values or "1" in values


@admitted("outbox:write")
async def replay_many(request: Request, user: User) -> Response:
    """Replay the dead letters ticked (`ids`), or every one (`all`)."""
    form = await request.form()
    if form.get("all") == "1":
        ids = None
    else:
        ids = [_id(value, "ids") for value in form.getlist("ids") if isinstance(value, str)]
        if not ids:
            raise InvalidRequestError("tick the dead letters to replay")
    replayed = await blocking(replay_dead_letters, console_of(request).hub, ids,
                              actor=user.actor, current_mapping=_current_mapping(form))
    return redirect(request, "/dead-letters?replayed=" + ",".join(map(str, replayed)))


@admitted("outbox:write")
async def replay_one(request: Request, user: User) -> Response:
    row_id: int = request.path_params["row_id"]
    if not 1 <= row_id <= MAX_ID:
        raise NotFoundError(f"no dead letter {row_id}")
    form = await request.form()
    replayed = await blocking(replay_dead_letters, console_of(request).hub, [row_id],
                              actor=user.actor, current_mapping=_current_mapping(form))
    return redirect(request, "/dead-letters?replayed=" + ",".join(map(str, replayed)))


routes = [
    Route("/outbox", outbox, methods=["GET"]),
    Route("/outbox/{row_id:int}", outbox_row, methods=["GET"]),
    Route("/dead-letters", dead_letters, methods=["GET"]),
    Route("/dead-letters/replay", replay_many, methods=["POST"]),
    Route("/dead-letters/{row_id:int}/replay", replay_one, methods=["POST"]),
]
