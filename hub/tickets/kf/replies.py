"""Agents' replies on a 微信客服 ticket, sent with send_msg inside WeCom's reply window.

The window is judged from the store before any vendor call: the customer's last message
(origin 3) of the ticket's conversation must be at most 48 hours old, and fewer than 5
replies may have been sent (or be possibly sent) since it. A reply outside it is refused
with the reason and no call is made. Inside it, the reply row — with a msgid chosen once —
is committed before the first attempt, and every attempt is recorded and audited:

* sent: WeCom answered 0 (or refused the msgid of a resend as used: an earlier attempt
  whose answer was lost had delivered it);
* failed: WeCom refused it (its errcode kept: 95001 count, 95002 48 h, 95018 session);
* unknown: the answer was lost or WeCom answered 5xx, `attempts` times; it may have been
  delivered. `resend_reply` sends it again with the same msgid, which WeCom never delivers
  twice, so a resend is safe.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.sdk import (
    ConnectorError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    RetriableError,
    TransientError,
)
from connectors.wecom.kf import ORIGIN_CUSTOMER, new_msgid
from hub.audit import AuditEntry
from hub.errors import ConflictError, InvalidRequestError, NotFoundError
from hub.runtime import Hub
from hub.store.models import KfMessage, KfReply, Ticket
from hub.tickets.kf.sync import kf_connector

__all__ = ["REPLY_WINDOW", "REPLY_WINDOW_MESSAGES", "KfReplyRecord", "reply_to_ticket",
           "resend_reply"]

REPLY_WINDOW = timedelta(hours=48)
REPLY_WINDOW_MESSAGES = 5
MAX_TEXT_BYTES = 2048
_ATTEMPTS = 3
_RESEND_WAIT = 0.5  # seconds before sending a reply whose answer was lost again
_COUNTED = ("sending", "sent", "unknown")  # replies WeCom may have counted
_MSGID_USED = "40058"  # ASSUMED: WeCom's answer to a reused msgid (sandbox: "msgid exists")


@dataclass(frozen=True, slots=True)
class KfReplyRecord:
    """A reply as stored: its status, attempts, and WeCom's refusal if any."""

    id: int
    ticket_id: int
    msgid: str
    status: str
    attempts: int
    error: str | None
    error_code: int | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: KfReply) -> KfReplyRecord:
        return cls(row.id, row.ticket_id, row.msgid, row.status, row.attempts, row.error,
                   row.error_code, row.created_at, row.sent_at)


async def reply_to_ticket(hub: Hub, ticket_id: int, text: str, *, actor: str,
                          now: datetime | None = None) -> KfReplyRecord:
    """Send `text` to the customer of kf ticket `ticket_id`.

    Raises:
        NotFoundError: no such ticket.
        InvalidRequestError: empty or over 2048 bytes; or not a 微信客服 ticket.
        ConflictError: outside the reply window (the reason says which limit); no call made.
    """
    text = text.strip()
    if not text:
        raise InvalidRequestError("a reply needs text", field="body.text")
    if len(text.encode()) > MAX_TEXT_BYTES:
        raise InvalidRequestError(f"a 微信客服 text is at most {MAX_TEXT_BYTES} bytes "
                                  f"(this one: {len(text.encode())})", field="body.text")
    reply_id = _claim(hub, ticket_id, text, actor=actor, now=now or datetime.now(UTC))
    return await _deliver(hub, reply_id, actor=actor)


async def resend_reply(hub: Hub, reply_id: int, *, actor: str) -> KfReplyRecord:
    """Send a reply whose outcome is unknown again, with its msgid (safe: WeCom refuses a
    used msgid instead of delivering twice)."""
    with hub.sessions() as session:
        row = session.get(KfReply, reply_id)
        if row is None:
            raise NotFoundError(f"no kf reply {reply_id}")
        if row.status not in ("unknown", "sending"):
            raise ConflictError(f"kf reply {reply_id} is {row.status}: only a reply whose "
                                "outcome is unknown is sent again")
    return await _deliver(hub, reply_id, actor=actor, resend=True)


def _claim(hub: Hub, ticket_id: int, text: str, *, actor: str, now: datetime) -> int:
    """Judge the window and store the reply (status sending) in one transaction."""
    with hub.sessions.begin() as session:
        if session.get(Ticket, ticket_id, with_for_update=True) is None:
            raise NotFoundError(f"no ticket {ticket_id}")
        last = session.scalars(select(KfMessage).where(
            KfMessage.ticket_id == ticket_id, KfMessage.origin == ORIGIN_CUSTOMER,
        ).order_by(KfMessage.id.desc()).limit(1)).first()
        if last is None:
            raise InvalidRequestError(
                f"ticket {ticket_id} is not a 微信客服 conversation: replies through "
                "send_msg are for tickets opened by a customer's kf message")
        assert last.external_userid is not None
        # The conversation's newest customer message opens the window, whichever ticket.
        newest = session.scalars(select(KfMessage).where(
            KfMessage.connection == last.connection, KfMessage.open_kfid == last.open_kfid,
            KfMessage.external_userid == last.external_userid,
            KfMessage.origin == ORIGIN_CUSTOMER).order_by(KfMessage.id.desc()).limit(1)).one()
        _check_window(session, ticket_id, newest, now)
        row = KfReply(ticket_id=ticket_id, connection=newest.connection,
                      open_kfid=newest.open_kfid, external_userid=newest.external_userid,
                      msgid=new_msgid(), window_msgid=newest.msgid, text=text, author=actor,
                      status="sending", attempts=0, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        hub.audit.append(session, [AuditEntry(actor, "kf.reply", f"ticket:{ticket_id}",
                                              detail={"reply": row.id, "msgid": row.msgid})])
        return row.id


def _check_window(session: Session, ticket_id: int, newest: KfMessage, now: datetime) -> None:
    since = newest.send_time.astimezone(UTC)
    if now - since > REPLY_WINDOW:
        raise ConflictError(
            f"reply window closed for ticket {ticket_id}: the customer's last message was at "
            f"{since:%Y-%m-%d %H:%M} UTC, more than 48 hours ago; WeCom accepts replies only "
            "within 48 hours of the customer's last message (no call was made)")
    sent = session.scalar(select(func.count()).select_from(KfReply).where(
        KfReply.connection == newest.connection, KfReply.open_kfid == newest.open_kfid,
        KfReply.window_msgid == newest.msgid, KfReply.status.in_(_COUNTED))) or 0
    if sent >= REPLY_WINDOW_MESSAGES:
        raise ConflictError(
            f"reply window full for ticket {ticket_id}: {sent} replies were sent since the "
            f"customer's last message at {since:%Y-%m-%d %H:%M} UTC; WeCom accepts at most "
            f"{REPLY_WINDOW_MESSAGES} until the customer writes again (no call was made)")


async def _deliver(hub: Hub, reply_id: int, *, actor: str,
                   resend: bool = False) -> KfReplyRecord:
    with hub.sessions() as session:
        row = session.get_one(KfReply, reply_id)
        connection, open_kfid, to, text, msgid = (row.connection, row.open_kfid,
                                                  row.external_userid, row.text, row.msgid)
    connector = kf_connector(hub, connection, actor=actor)
    maybe_sent = resend
    try:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                await connector.kf_send_text(open_kfid, to=to, text=text, msgid=msgid)
            except RejectedError as exc:
                if maybe_sent and exc.vendor_code == _MSGID_USED:
                    return _record(hub, reply_id, actor, "sent", error=(
                        "delivered by an earlier attempt whose answer was lost (WeCom "
                        "refused the msgid as used)"))
                return _record(hub, reply_id, actor, "failed", error=exc, code=exc.vendor_code)
            except (OutcomeUnknownError, RetriableError) as exc:
                maybe_sent = maybe_sent or _may_have_arrived(exc)
                _record(hub, reply_id, actor, "unknown" if maybe_sent else "sending",
                        error=exc, final=False)
                if attempt < _ATTEMPTS:
                    await asyncio.sleep(_RESEND_WAIT * attempt)
                continue
            except ConnectorError as exc:  # auth, config: nothing was delivered
                return _record(hub, reply_id, actor, "failed", error=exc, code=exc.vendor_code)
            return _record(hub, reply_id, actor, "sent")
        if maybe_sent:
            return _record(hub, reply_id, actor, "unknown", attempted=False, error=(
                f"no answer from WeCom after {_ATTEMPTS} attempts: it may have been "
                f"delivered; `hub kf resend {reply_id}` sends it again with the same msgid"))
        return _record(hub, reply_id, actor, "failed", attempted=False, error=(
            f"not delivered: WeCom was busy or unreachable {_ATTEMPTS} times; reply again"))
    finally:
        await connector.aclose()


def _may_have_arrived(error: ConnectorError) -> bool:
    """A lost answer or a 5xx may follow a delivery; a throttle, a refused connection or
    WeCom's "system busy" (-1) did not deliver."""
    if isinstance(error, RateLimitedError):
        return False
    return not (isinstance(error, TransientError) and error.never_sent)


def _record(hub: Hub, reply_id: int, actor: str, status: str, *,
            error: Exception | str | None = None, code: str | None = None,
            attempted: bool = True, final: bool = True) -> KfReplyRecord:
    """Write an attempt's outcome (`attempted`: one more vendor call); audit the final one."""
    now = datetime.now(UTC)
    message = None if error is None else hub.redactor.text(str(error))
    with hub.sessions.begin() as session:
        row = session.get_one(KfReply, reply_id, with_for_update=True)
        row.status = status
        row.attempts += attempted
        row.error = message
        row.error_code = int(code) if code and code.lstrip("-").isdigit() else None
        row.updated_at = now
        if status == "sent":
            row.sent_at = now
            session.get_one(Ticket, row.ticket_id).mark_answered(now)
        if final:
            hub.audit.append(session, [AuditEntry(
                actor, f"kf.reply.{status}", f"ticket:{row.ticket_id}",
                outcome="ok" if status == "sent" else status,
                detail={"reply": row.id, "msgid": row.msgid, "attempts": row.attempts,
                        **({"errcode": row.error_code} if row.error_code else {}),
                        **({"error": message} if message else {})})])
        return KfReplyRecord.of(row)
