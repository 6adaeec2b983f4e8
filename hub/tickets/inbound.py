"""Inbound vendor callbacks (`/webhooks/<connection>`): verified, deduplicated, made tickets.

The connection's connector (a `WebhookReceiver`) verifies the signature, refuses stale
timestamps and replayed nonces — nonces live in the store (`SqlNonceStore`), so a replay is
caught whichever process of the hub sees it — decrypts, and parses an `InboundEvent`. Then:

* a refused callback raises `WebhookRejectedError` with the status to answer (403 forged,
  stale or replayed; 400 malformed or undecryptable; 405 wrong method; 503 the connection
  has no callback keys), after an audit row that names the reason — never the signature,
  the token, the AES key or the body;
* an accepted event is recorded once per (connection, event id), in the same transaction as
  the ticket it opens or updates: a vendor's retry finds the row and is only acknowledged;
* an event type listed in the webhook's `events` is mapped (`mapping:`, input below) into a
  ticket — or, when an open ticket has the same `external_ref`, added to that ticket; any
  other type is recorded as ``ignored``, audited and acknowledged;
* a 微信客服 push (``event.kf_msg_or_event``, when listed in `events`) is recorded
  (``sync``) and its account synced after the answer (hub/tickets/kf).

The reply is the connector's (`WebhookReply`, the vendor's expected form). Enrichment and
notify rules run afterwards (`WebhookResult.after`), so the vendor gets its answer in time.

The mapping's input record::

    {"connection": "wecom", "connector": "wecom", "event_type": "text", "event_id": "...",
     "sender": "zhangsan", "text": "...", "received_at": "2024-05-02T10:00:00+00:00",
     "payload": {...the decrypted event...}}
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectors.sdk import ConfigError, ConnectorError, RejectedError
from connectors.sdk.crypto import (
    CallbackCryptoError,
    CallbackSignatureError,
    ReplayedCallbackError,
    StaleCallbackError,
)
from connectors.sdk.messaging import InboundEvent, WebhookReceiver, WebhookReply
from connectors.wecom.kf import KF_EVENT
from hub.audit import AuditEntry
from hub.config import WebhookSpec
from hub.core import tracing
from hub.core.jsonable import to_jsonable
from hub.enrichment import enrich_job, enrich_now
from hub.errors import HubError, NotFoundError
from hub.ingest.lookups import resolve_lookups
from hub.mapping import RecordMappingError
from hub.notify.engine import evaluate_enriched, evaluate_ticket
from hub.runtime import Hub
from hub.store.models import TERMINAL_TICKET_STATUSES, Ticket, WebhookEvent
from hub.tickets.kf.sync import sync_after_push
from hub.tickets.service import TicketCreate, insert_ticket

__all__ = ["WebhookRejectedError", "WebhookResult", "event_record", "receive_webhook",
           "without_nul"]

log = logging.getLogger("hub.webhooks")

# Why a callback was refused, and the status that says so. Both vendors document only the
# success answer: anything else is a failed delivery, retried (if at all) on network errors
# only, so the status is for the operator reading the vendor's console and our audit.
_REFUSALS: tuple[tuple[type[ConnectorError], str, int], ...] = (
    (ReplayedCallbackError, "replayed", 403),
    (StaleCallbackError, "stale", 403),
    (CallbackSignatureError, "forged", 403),
    (CallbackCryptoError, "undecryptable", 400),
    (RejectedError, "method", 405),
    (ConfigError, "not_configured", 503),
)
_PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


class WebhookRejectedError(HubError):
    """A callback the hub refused; `http_status` is what the vendor is answered."""

    def __init__(self, message: str, *, reason: str, http_status: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.http_status = http_status


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """What the hub did with one callback, the reply to send, and the work left for after.

    Attributes:
        reply: the vendor's expected answer.
        outcome: verified (a URL check), ticket, updated, duplicate, ignored (a type not in
            the webhook's events), skipped (the mapping's filter) or failed (the mapping
            refused the event; it is stored with the error).
        event_id: the vendor's event id, once the event was parsed.
        ticket_id: the ticket opened or updated.
        after: enrichment and notify rules, to run once the reply is sent.
    """

    reply: WebhookReply
    outcome: str
    event_id: str | None = None
    ticket_id: int | None = None
    after: Callable[[], Awaitable[None]] | None = None


def _webhook(hub: Hub, connection: str) -> WebhookSpec:
    spec = hub.config.hub.webhooks.get(connection)
    if spec is None or not spec.enabled:
        known = ", ".join(sorted(n for n, w in hub.config.hub.webhooks.items() if w.enabled))
        raise NotFoundError(f"no webhook for connection '{connection}'; configured: "
                            f"{known or 'none'}")
    return spec


def event_record(connection: str, event: InboundEvent) -> dict[str, Any]:
    """The record a webhook's mapping reads (see the module docstring)."""
    return {"connection": connection, "connector": event.connector,
            "event_type": event.event_type, "event_id": event.event_id,
            "sender": event.sender, "text": event.text,
            "received_at": event.received_at.isoformat(), "payload": dict(event.payload)}


async def receive_webhook(hub: Hub, connection: str, *, method: str, query: Mapping[str, str],
                          body: bytes, now: float | None = None,
                          headers: Mapping[str, str] | None = None) -> WebhookResult:
    """Open, check and act on one callback to ``/webhooks/<connection>``.

    Args:
        hub: the runtime.
        connection: the connection named in the URL.
        method: GET (WeCom's URL verification) or POST.
        query: the query parameters, decoded once.
        body: the raw body.
        now: Unix seconds to judge freshness by (default: the clock).
        headers: the request's headers, names in lower case (DingTalk signs its bot
            messages in HTTP mode there).

    Raises:
        NotFoundError: no (enabled) webhook for this connection.
        WebhookRejectedError: the callback was refused (already audited).
    """
    with tracing.span("webhook.receive", **{"hub.connection": connection,
                                           "http.request.method": method.upper()}) as span:
        result = await _receive(hub, connection, method=method, query=query, body=body,
                                now=now, headers=headers or {})
        if span is not None:
            span.set_attributes({"hub.outcome": result.outcome,
                                 **({"hub.ticket_id": result.ticket_id}
                                    if result.ticket_id is not None else {})})
        return result


async def _receive(hub: Hub, connection: str, *, method: str, query: Mapping[str, str],
                   body: bytes, now: float | None, headers: Mapping[str, str]
                   ) -> WebhookResult:
    spec = _webhook(hub, connection)
    actor = f"webhook:{connection}"
    event, reply = await _open(hub, connection, actor, method=method, query=query, body=body,
                               now=now, headers=headers)
    if event is not None:
        event = without_nul(event)
    if event is None:
        hub.audit.record([AuditEntry(actor, "webhook.verify", f"webhook:{connection}")])
        return WebhookResult(reply, "verified")
    if event.event_type == KF_EVENT and KF_EVENT in spec.events:
        return _kf_push(hub, connection, spec, event, reply, actor)
    if event.event_type not in spec.events:
        return _store(hub, connection, spec, event, reply, actor, outcome="ignored",
                      error=f"event type '{event.event_type}' is not one this webhook handles")
    mapping = hub.mappings.get(spec.mapping)
    record = event_record(connection, event)
    try:
        lookups = await resolve_lookups(hub, mapping, [record], actor=actor)
        mapped = mapping(record, row=event.event_id, lookups=lookups)
        data = None if mapped is None else TicketCreate.model_validate(to_jsonable(mapped))
    except RecordMappingError as exc:
        return _store(hub, connection, spec, event, reply, actor, outcome="failed",
                      error=str(exc))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors(include_url=False, include_input=False))
        return _store(hub, connection, spec, event, reply, actor, outcome="failed",
                      error=f"mapping '{spec.mapping}' gave no valid ticket: {problems}")
    if data is None:
        return _store(hub, connection, spec, event, reply, actor, outcome="skipped",
                      error=f"mapping '{spec.mapping}' filtered the event out")
    return _store(hub, connection, spec, event, reply, actor, outcome="ticket", data=data)


def _kf_push(hub: Hub, connection: str, spec: WebhookSpec, event: InboundEvent,
             reply: WebhookReply, actor: str) -> WebhookResult:
    """A 微信客服 push carries no message: record it, and sync its account after the answer
    (hub/tickets/kf); a repeated push is only acknowledged."""
    stored = _store(hub, connection, spec, event, reply, actor, outcome="sync")
    if stored.outcome == "duplicate":
        return stored
    return dataclasses.replace(stored, after=sync_after_push(hub, connection, event,
                                                             actor=actor))


async def _open(hub: Hub, connection: str, actor: str, *, method: str,
                query: Mapping[str, str], body: bytes, now: float | None,
                headers: Mapping[str, str]) -> tuple[InboundEvent | None, WebhookReply]:
    connector = hub.connector(connection, actor=actor)
    try:
        if not isinstance(connector, WebhookReceiver):
            raise ConfigError(f"connector '{connector.name}' does not receive webhooks")
        extra = {"headers": headers} if _takes_headers(type(connector)) else {}
        return await connector.open_webhook(method=method, query=query, body=body,
                                            nonces=hub.nonce_store, now=now, **extra)
    except ConnectorError as exc:
        reason, status = _refusal(exc)
        message = hub.redactor.text(str(exc))
        hub.audit.record([AuditEntry(actor, "webhook.reject", f"webhook:{connection}",
                                     outcome=reason,
                                     detail={"method": method.upper(), "error": message})])
        raise WebhookRejectedError(f"callback refused ({reason}): {message}", reason=reason,
                                   http_status=status) from None
    finally:
        await connector.aclose()


@functools.cache
def _takes_headers(receiver: type[WebhookReceiver]) -> bool:
    """Whether a receiver's `open_webhook` declares `headers` (those written before it was
    added to the contract do not, and are not given it)."""
    return "headers" in inspect.signature(receiver.open_webhook).parameters


def without_nul(event: InboundEvent) -> InboundEvent:
    """The event with every NUL character removed: PostgreSQL's text and JSON refuse them,
    and a verified event must be stored (a vendor retries a refused push, to no avail)."""
    return dataclasses.replace(
        event, event_type=_strip_nul(event.event_type), event_id=_strip_nul(event.event_id),
        sender=_strip_nul(event.sender), text=_strip_nul(event.text),
        payload=_strip_nul(dict(event.payload)))


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, Mapping):
        return {_strip_nul(key): _strip_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strip_nul(item) for item in value]
    return value


def _refusal(error: ConnectorError) -> tuple[str, int]:
    for kind, reason, status in _REFUSALS:
        if isinstance(error, kind):
            return reason, status
    return "refused", 400


def _store(hub: Hub, connection: str, spec: WebhookSpec, event: InboundEvent,
           reply: WebhookReply, actor: str, *, outcome: str, error: str | None = None,
           data: TicketCreate | None = None) -> WebhookResult:
    """Record the event and act on it in one transaction; a second delivery of the same
    event id is acknowledged and changes nothing."""
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        event_row = _claim(session, connection, event, hub.redactor.mapping(
            to_jsonable(dict(event.payload))), now)
        if event_row is None:
            session.execute(update(WebhookEvent).where(
                WebhookEvent.connection == connection, WebhookEvent.event_id == event.event_id,
            ).values(deliveries=WebhookEvent.deliveries + 1, updated_at=now))
            hub.audit.append(session, [_entry(actor, "webhook.duplicate", connection, event)])
            return WebhookResult(reply, "duplicate", event.event_id)
        ticket_id = None
        if data is not None:
            ticket = _open_ticket(session, data) if spec.update_open else None
            if ticket is not None:
                _add_to_ticket(hub, session, ticket, data, event, actor)
                outcome = "updated"
            else:
                ticket = insert_ticket(hub, session, data, actor=actor)
            ticket_id = ticket.id
        row = session.get_one(WebhookEvent, event_row)
        row.status = "ticket" if ticket_id is not None else outcome
        row.ticket_id, row.error = ticket_id, error
        hub.audit.append(session, [_entry(
            actor, f"webhook.{outcome}", connection, event,
            outcome="failed" if outcome == "failed" else "ok",
            ticket=ticket_id, error=error)])
    after = None
    if ticket_id is not None:
        after = _after(hub, ticket_id, actor, created=outcome == "ticket")
    return WebhookResult(reply, outcome, event.event_id, ticket_id, after)


def _claim(session: Session, connection: str, event: InboundEvent, payload: dict[str, Any],
           now: datetime) -> int | None:
    """Insert the event row unless this (connection, event id) was seen; its id or None."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(WebhookEvent).values(
        connection=connection, event_id=event.event_id[:200],
        event_type=event.event_type[:100], sender=event.sender[:200] if event.sender else None,
        status="received", payload=payload, received_at=event.received_at, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["connection", "event_id"]
                             ).returning(WebhookEvent.id)
    found: int | None = session.execute(statement).scalar()
    return found


def _entry(actor: str, action: str, connection: str, event: InboundEvent, *,
           outcome: str = "ok", **detail: Any) -> AuditEntry:
    return AuditEntry(actor, action, f"webhook:{connection}", outcome=outcome, detail={
        "event_type": event.event_type, "event_id": event.event_id, "sender": event.sender,
        **{k: v for k, v in detail.items() if v is not None}})


def _open_ticket(session: Session, data: TicketCreate) -> Ticket | None:
    if not data.external_ref:
        return None
    found: Ticket | None = session.scalars(
        select(Ticket).where(Ticket.external_ref == data.external_ref,
                             Ticket.status.not_in(TERMINAL_TICKET_STATUSES))
        .order_by(Ticket.id.desc()).limit(1)).first()
    return found


def _add_to_ticket(hub: Hub, session: Session, ticket: Ticket, data: TicketCreate,
                   event: InboundEvent, actor: str) -> None:
    """A later message of the same conversation: appended to the open ticket, whose
    priority only ever rises."""
    stamp = event.received_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = f"[{stamp}{' ' + event.sender if event.sender else ''}] " \
           f"{data.description or data.subject}"
    ticket.description = f"{ticket.description}\n\n{note}" if ticket.description else note
    changed = ["description"]
    if _PRIORITY_RANK[data.priority] > _PRIORITY_RANK.get(ticket.priority, 1):
        ticket.priority = data.priority
        changed.append("priority")
    if ticket.category is None and data.category:
        ticket.category = data.category
        changed.append("category")
    ticket.updated_at = datetime.now(UTC)
    hub.audit.append(session, [AuditEntry(actor, "ticket.update", f"ticket:{ticket.id}",
                                          detail={"fields": changed,
                                                  "event_id": event.event_id})])


# Follow-ups run at most this many at once in a process (the rest wait their turn, their
# enrichment rows already in the queue): a burst's enrichments all at once compete with the
# answers on the event loop and run out their inline wait, handing the queue work half done.
# bench/inbound.py (400 + 400 callbacks, 16 in flight): unbounded, answers p50 ~500 ms and
# 13 ms of CPU a callback, most enrichments left pending; 2-8 at once, p50 ~100 ms, 5 ms, all
# enriched within seconds of the burst.
_FOLLOW_UPS_AT_ONCE = 4
_follow_up_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def _follow_up_slot() -> asyncio.Semaphore:
    """This event loop's follow-up slots (a semaphore belongs to one loop; those of closed
    loops are dropped)."""
    loop = asyncio.get_running_loop()
    found = _follow_up_slots.get(loop)
    if found is None:
        for other in list(_follow_up_slots):  # list(): other threads' loops add theirs
            if other.is_closed():
                _follow_up_slots.pop(other, None)
        found = _follow_up_slots[loop] = asyncio.Semaphore(_FOLLOW_UPS_AT_ONCE)
    return found


def _enrich_wait(hub: Hub) -> float | None:
    """How long a callback's follow-up waits for its ticket's enrichment: no caller waits
    for it, so as long as the source's timeout allows (None) — the job's `inline_wait` caps
    what an API caller waits — unless the job leaves enrichment to the queue (0)."""
    found = enrich_job(hub)
    return 0.0 if found is not None and found[1].inline_wait <= 0 else None


def _after(hub: Hub, ticket_id: int, actor: str, *, created: bool
           ) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        async with _follow_up_slot():
            try:
                if created:
                    await enrich_now(hub, ticket_id, actor=actor, wait=_enrich_wait(hub),
                                     then=evaluate_enriched)
                else:
                    await evaluate_ticket(hub, ticket_id, trigger="ticket.update", actor=actor)
            except Exception:  # the vendor was answered already: log, never lose the ticket
                log.exception("follow-up of ticket %s (from %s) failed", ticket_id, actor)

    return run
