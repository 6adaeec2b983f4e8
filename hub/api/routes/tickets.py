"""/tickets: create (enriched on arrival), list, get enriched, update, resolve, reopen, and
replies to the customer of a 微信客服 ticket.

Every answer carrying one ticket carries its `ETag`; `PATCH` needs it back in `If-Match`.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

import anyio
from fastapi import Query, Request, Response, status

from hub.api.admission import admitted_router
from hub.api.deps import (
    ROW_ID_RANGE,
    HubDep,
    Instant,
    RowId,
    RowIdFilter,
    path_row_id,
    query_value,
)
from hub.core.pages import MAX_ID
from hub.outbox import Resolution
from hub.runtime import Hub
from hub.tickets import (
    Channel,
    Priority,
    TicketCreate,
    TicketFilter,
    TicketPage,
    TicketPublic,
    TicketUpdate,
    VersionedTicket,
    create_ticket,
    get_ticket_json,
    get_versioned_ticket,
    list_ticket_page,
    update_ticket,
)
from hub.tickets.kf import ReplyCreate, ReplyPublic, reply_to_ticket
from hub.tickets.resolve import reopen_ticket, resolve_ticket

# Agents' area: every route admits the caller first (admission.py).
router = admitted_router("tickets", prefix="/tickets", tags=["tickets"])

# Read from the request and declared here: required by the document, yet its absence is
# answered 428 `precondition-required` (RFC 6585), not a generic 422.
_IF_MATCH = {"name": "If-Match", "in": "header", "required": True,
             "description": "The ETag of the version this change is based on (412 when it "
                            "is stale; 428 when missing)",
             "schema": {"type": "string", "minLength": 1, "examples": ['"3f2a9c1b"']}}


def _tags(header: str | None) -> list[str] | None:
    if header is None:
        return None
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _actor(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return str(principal.actor) if principal is not None else "api"


def _versioned(response: Response, versioned: VersionedTicket) -> TicketPublic:
    response.headers["ETag"] = versioned.etag
    return versioned.ticket


def _optional_string(name: str, where: str, description: str,
                     examples: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "null"}],
                              "title": name.title(), "description": description}
    if examples:
        schema["examples"] = examples
    return {"name": name, "in": where, "required": False, "schema": schema,
            "description": description}


# `GET /tickets/{id}` is the agent's click path (first here: routes match in order).
# FastAPI's extraction of a declared parameter costs more than the rest of the route, so the
# id and these two free-form strings are read from the request (the id validated as RowId
# would be) and declared here for the OpenAPI.
_GET_PARAMETERS = [
    {"name": "ticket_id", "in": "path", "required": True, "description": ROW_ID_RANGE,
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "title": "Ticket Id",
                "description": ROW_ID_RANGE}},
    _optional_string("expand", "query", "Comma-separated: customer, orders, history (always "
                     "included), kb (the best-matching knowledge-base articles)",
                     ["customer,orders,kb"]),
    _optional_string("if-none-match", "header",
                     "ETags the caller holds: 304 when the ticket is still at one of them"),
]


@router.get("/{ticket_id}", response_model=TicketPublic,
            responses={304: {"description": "Not modified (If-None-Match)"}},
            openapi_extra={"parameters": _GET_PARAMETERS})
async def get(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    ticket_id = path_row_id(request, "ticket_id")
    expand = query_value(request, "expand")
    parts = [part.strip() for part in (expand or "").split(",") if part.strip()]
    if "kb" in parts:  # a search: worth a worker thread
        versioned = await anyio.to_thread.run_sync(
            functools.partial(get_ticket_json, hub, ticket_id, expand=parts))
    else:  # one indexed read, well under a millisecond: cheaper here than a thread hop
        versioned = get_ticket_json(hub, ticket_id, expand=parts,
                                    reader=getattr(request.app.state, "ticket_reader", None))
    held = {tag.removeprefix("W/") for tag in _tags(request.headers.get("if-none-match")) or ()}
    # kb suggestions change with the knowledge base, not the ticket: never "not modified".
    if "kb" not in parts and (versioned.etag in held or "*" in held):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED,
                        headers={"ETag": versioned.etag})
    # Serialized once by the service: FastAPI would validate a model again first.
    return Response(versioned.body, media_type="application/json",
                    headers={"ETag": versioned.etag})


@router.post("", status_code=status.HTTP_201_CREATED)
async def create(body: TicketCreate, hub: HubDep, request: Request,
                 response: Response) -> TicketPublic:
    ticket = await create_ticket(hub, body, actor=_actor(request))
    response.headers["Location"] = f"/tickets/{ticket.id}"
    return _versioned(response, get_versioned_ticket(hub, ticket.id))


@router.get("")
def list_(hub: HubDep,
          status_: Annotated[str | None, Query(
              alias="status", description="One status or several, comma-separated",
              examples=["open,pending"])] = None,
          customer_id: RowIdFilter = None,
          category: Annotated[str | None, Query(max_length=64)] = None,
          priority: Priority | None = None,
          channel: Channel | None = None,
          created_since: Annotated[Instant | None, Query(
              description="Created at or after (ISO 8601)")] = None,
          created_until: Annotated[Instant | None, Query(
              description="Created before (ISO 8601)")] = None,
          q: Annotated[str | None, Query(max_length=200,
                                         description="The subject contains this")] = None,
          limit: Annotated[int, Query(ge=1, le=500)] = 50,
          cursor: Annotated[str | None, Query(
              max_length=200, description="`next_cursor` of the previous page")] = None,
          ) -> TicketPage:
    """Tickets, newest first, a page at a time; follow `next_cursor` until it is null."""
    statuses = [part.strip() for part in status_.split(",") if part.strip()] if status_ else None
    filters = TicketFilter(status=statuses, customer_id=customer_id, category=category,
                           priority=priority, channel=channel, created_since=created_since,
                           created_until=created_until, q=q)
    return list_ticket_page(hub, filters, limit=limit, cursor=cursor)


@router.patch("/{ticket_id}", responses={
    412: {"description": "If-Match names an older version"},
    428: {"description": "If-Match is missing"}}, openapi_extra={"parameters": [_IF_MATCH]})
async def update(ticket_id: RowId, body: TicketUpdate, hub: HubDep, request: Request,
                 response: Response) -> TicketPublic:
    """Change subject, description, category, priority or status (open, pending, closed).
    Send the ETag you read in `If-Match`: if someone changed the ticket since, the answer
    is 412 and nothing is written."""
    if_match = request.headers.get("if-match") or None  # empty: missing (428)
    updated = await update_ticket(hub, ticket_id, body, if_match=_tags(if_match),
                                  actor=_actor(request))
    return _versioned(response, updated)


@router.post("/{ticket_id}/resolve")
def resolve(ticket_id: RowId, body: Resolution, hub: HubDep, request: Request,
            response: Response) -> TicketPublic:
    """Resolve the ticket. A refund, spare parts or a reusable solution are written back to
    the ERP / knowledge base through the outbox, exactly once; `writebacks` in the answer
    shows each (pending until the dispatcher sends it). 409 when already resolved; 422 when a
    write-back mapping refuses the ticket (nothing is changed then)."""
    resolve_ticket(hub, ticket_id, body, actor=_actor(request))
    return _versioned(response, get_versioned_ticket(hub, ticket_id))


@router.post("/{ticket_id}/reopen")
def reopen(ticket_id: RowId, hub: HubDep, request: Request,
           response: Response) -> TicketPublic:
    reopen_ticket(hub, ticket_id, actor=_actor(request))
    return _versioned(response, get_versioned_ticket(hub, ticket_id))


@router.post("/{ticket_id}/replies", status_code=status.HTTP_201_CREATED)
async def reply(ticket_id: RowId, body: ReplyCreate, hub: HubDep,
                request: Request) -> ReplyPublic:
    """Reply to the customer of a 微信客服 (WeCom kf) ticket through send_msg. WeCom accepts
    replies within 48 hours of the customer's last message and at most 5 of them since it:
    outside that the answer is 409 with the reason, and nothing is sent. The reply is
    recorded before it is sent; the answer's `status` says what became of it (sent, failed
    with WeCom's `error_code`, or unknown: the vendor's answer was lost, and a resend with
    the same `msgid` cannot deliver it twice). 422 for a ticket that is not a kf one."""
    record = await reply_to_ticket(hub, ticket_id, body.text, actor=_actor(request))
    return ReplyPublic.model_validate(record)
