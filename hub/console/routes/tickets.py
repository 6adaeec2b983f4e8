"""Tickets: the list with the API's filters, the 360° view an agent works from, resolving."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.core.pages import MAX_ID
from hub.errors import InvalidRequestError, NotFoundError
from hub.tickets import TicketFilter, get_ticket_json, list_ticket_page
from hub.tickets.resolve import resolve_ticket
from hub.tickets.schemas import Channel, TicketStatus

from ..auth import User
from ..forms import PartsLineError, resolution_from_form
from ..messages import Translator, language_of
from ..web import admitted, blocking, console_of, masked, masked_json, redirect, render

__all__ = ["routes"]

PAGE_SIZE = 25
STATUSES: tuple[str, ...] = TicketStatus.__args__  # type: ignore[attr-defined]
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]
_FILTERS = ("status", "channel", "category", "customer_id", "q")


def _row_id(text: str | None, name: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise InvalidRequestError(f"{name}: a row id, 1 to {MAX_ID}")
    return int(text)


def _filters(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip() for name in _FILTERS}


@admitted("tickets:read")
async def tickets(request: Request, user: User) -> Response:
    given = _filters(request)
    if given["status"] and given["status"] not in STATUSES:
        raise InvalidRequestError(f"status: one of {', '.join(STATUSES)}")
    if given["channel"] and given["channel"] not in CHANNELS:
        raise InvalidRequestError(f"channel: one of {', '.join(CHANNELS)}")
    filters = TicketFilter(status=[given["status"]] if given["status"] else None,
                           channel=given["channel"] or None,
                           category=given["category"][:64] or None,
                           customer_id=_row_id(given["customer_id"], "customer_id"),
                           q=given["q"][:200] or None)
    cursor = request.query_params.get("cursor") or None
    page = await blocking(list_ticket_page, console_of(request).hub, filters,
                          limit=PAGE_SIZE, cursor=cursor)
    shown = masked(user, page, request)
    return render(request, "tickets.html", tickets=shown["items"],
                  next_cursor=shown["next_cursor"], filters=given, statuses=STATUSES,
                  channels=CHANNELS, first_page=cursor is None)


async def _ticket_view(request: Request, user: User, ticket_id: int) -> dict[str, Any]:
    """The ticket's 360° view, as GET /tickets/{id}?expand=kb answers it to this user."""
    versioned = await blocking(get_ticket_json, console_of(request).hub, ticket_id,
                               expand=["customer", "orders", "history", "kb"])
    view: dict[str, Any] = masked_json(user, versioned.body, request)
    return view


def _records_by_source(records: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records or []:
        grouped.setdefault(str(record.get("source") or "-"), []).append(record)
    return list(grouped.items())


def _sources_by_name(sources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(source.get("connection")): source for source in sources or []}


async def _render_ticket(request: Request, user: User, ticket_id: int, *, status: int = 200,
                         errors: list[str] | None = None,
                         form: dict[str, str] | None = None) -> Response:
    view = await _ticket_view(request, user, ticket_id)
    history = view.get("history") or {}
    return render(request, "ticket.html", status=status, ticket=view,
                  orders=_records_by_source(history.get("orders") or []),
                  deliveries=_records_by_source(history.get("deliveries") or []),
                  interactions=_records_by_source(history.get("interactions") or []),
                  sources=_sources_by_name(view.get("sources") or []),
                  may_resolve=user.may("tickets:write")
                  and view.get("status") not in ("resolved", "closed"),
                  errors=errors or [], form=form or {})


def _ticket_id(request: Request) -> int:
    ticket_id: int = request.path_params["ticket_id"]
    if not 1 <= ticket_id <= MAX_ID:
        raise NotFoundError(f"no ticket {ticket_id}")
    return ticket_id


@admitted("tickets:read")
async def ticket(request: Request, user: User) -> Response:
    return await _render_ticket(request, user, _ticket_id(request))


@admitted("tickets:write")
async def resolve(request: Request, user: User) -> Response:
    """Resolve with a refund, parts and a solution: the service the API's resolve calls."""
    ticket_id = _ticket_id(request)
    form = await request.form()
    t = Translator(language_of(request))
    try:
        resolution = resolution_from_form(form)
    except PartsLineError as error:
        return await _render_ticket(
            request, user, ticket_id, status=422,
            errors=[t("resolve.error.parts_line", line=error.line_no, text=error.line)],
            form={k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"})
    except ValidationError as error:
        problems = [f"{'.'.join(str(part) for part in problem['loc']) or '-'}: "
                    f"{problem['msg']}" for problem in error.errors()]
        return await _render_ticket(
            request, user, ticket_id, status=422, errors=problems,
            form={k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"})
    await blocking(resolve_ticket, console_of(request).hub, ticket_id, resolution,
                   actor=user.actor)
    return redirect(request, f"/tickets/{ticket_id}?resolved=1")


routes = [
    Route("/tickets", tickets, methods=["GET"]),
    Route("/tickets/{ticket_id:int}", ticket, methods=["GET"]),
    Route("/tickets/{ticket_id:int}/resolve", resolve, methods=["POST"]),
]
