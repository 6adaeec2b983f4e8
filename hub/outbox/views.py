"""Reading the outbox and replaying dead letters: the services behind the CLI and the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from hub.core.pages import DEFAULT_LIMIT, Page, decode_cursor, page_of
from hub.core.time import UtcDatetime

from ..audit import AuditEntry
from ..config import WritebackJob
from ..errors import InvalidRequestError, NotFoundError
from ..mapping import RecordMappingError
from ..runtime import Hub
from ..store.leasing import lease_free
from ..store.models import OutboxMessage
from . import store
from .documents import json_document

__all__ = ["OutboxDetail", "OutboxView", "get_row", "get_row_detail", "list_dead_letters",
           "list_rows", "outbox_depth", "replay_dead_letters"]


class OutboxView(BaseModel):
    """One write owed to another system."""

    model_config = {"json_schema_extra": {"examples": [{
        "id": 7, "ticket_id": 123, "job": "erp_refunds", "connection": "kingdee",
        "action": "refund.create", "key": "TK000123-RF1", "status": "done", "step": "done",
        "attempts": 2, "replays": 0, "number": "TK000123-RF1", "vendor_id": "100045",
        "error": None, "error_kind": None, "in_flight": False,
        "next_attempt_at": "2026-11-23T10:00:00Z", "created_at": "2026-11-23T10:00:00Z",
        "done_at": "2026-11-23T10:00:02Z", "mapping": "kingdee_refund_bill@1"}]}}

    id: int
    ticket_id: int | None
    job: str
    connection: str
    action: str
    key: str = Field(description="The idempotency key, carried to the vendor as the "
                                 "document number.")
    status: Literal["pending", "done", "dead"] = Field(description="dead: a dead letter.")
    step: str | None = Field(description="How far the write got: saved, submitted, done.")
    attempts: int
    replays: int
    number: str | None = Field(description="The vendor's document number, once written.")
    vendor_id: str | None
    error: str | None = Field(description="The last failure, with the vendor's field and "
                                          "message when it refused.")
    error_kind: str | None
    in_flight: bool
    next_attempt_at: UtcDatetime
    created_at: UtcDatetime
    done_at: UtcDatetime | None
    mapping: str

    @classmethod
    def of(cls, row: OutboxMessage, now: datetime | None = None) -> OutboxView:
        result = row.result or {}
        return cls(id=row.id, ticket_id=row.ticket_id, job=row.job, connection=row.connection,
                   action=row.action, key=row.idempotency_key, status=row.status,
                   step=row.step, attempts=row.attempts, replays=row.replays,
                   number=result.get("number"), vendor_id=result.get("id"), error=row.error,
                   error_kind=row.error_kind,
                   in_flight=row.status == "pending"
                   and not lease_free(row.lease_until, now=now or datetime.now(UTC)),
                   next_attempt_at=row.next_attempt_at, created_at=row.created_at,
                   done_at=row.done_at, mapping=row.mapping)


def list_rows(hub: Hub, *, status: str | None = None, ticket_id: int | None = None,
              cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> Page[OutboxView]:
    """Outbox rows, newest first."""
    return _page(hub, "outbox", status=status, ticket_id=ticket_id, cursor=cursor, limit=limit)


def list_dead_letters(hub: Hub, *, cursor: str | None = None,
                      limit: int = DEFAULT_LIMIT) -> Page[OutboxView]:
    """Dead letters, newest first (their cursors are not the outbox listing's)."""
    return _page(hub, "dead-letter", status="dead", ticket_id=None, cursor=cursor, limit=limit)


def _page(hub: Hub, kind: str, *, status: str | None, ticket_id: int | None,
          cursor: str | None, limit: int) -> Page[OutboxView]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit + 1)
    after = decode_cursor(kind, cursor)
    if after is not None:
        query = query.where(OutboxMessage.id < after)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    if ticket_id is not None:
        query = query.where(OutboxMessage.ticket_id == ticket_id)
    now = datetime.now(UTC)
    with hub.sessions() as session:
        rows = session.scalars(query).all()
        return page_of(kind, rows, limit, key=lambda r: r.id,
                       view=lambda r: OutboxView.of(r, now))


def get_row(hub: Hub, row_id: int) -> OutboxView:
    with hub.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        if row is None:
            raise NotFoundError(f"no outbox row {row_id}")
        return OutboxView.of(row)


class OutboxDetail(OutboxView):
    """An outbox row with what it carries: the write-back document its mapping read, the
    document sent, and the vendor's answer (the write's result, or its last error)."""

    payload: dict[str, Any]
    document: dict[str, Any]
    result: dict[str, Any] | None


def get_row_detail(hub: Hub, row_id: int) -> OutboxDetail:
    with hub.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        if row is None:
            raise NotFoundError(f"no outbox row {row_id}")
        return OutboxDetail(**OutboxView.of(row).model_dump(), payload=row.payload or {},
                            document=row.document or {}, result=row.result)


def outbox_depth(hub: Hub) -> dict[str, int]:
    with hub.sessions() as session:
        return store.depth(session, datetime.now(UTC))


def replay_dead_letters(hub: Hub, ids: Sequence[int] | None, *, actor: str,
                        current_mapping: bool = True) -> list[int]:
    """Put dead letters back in the outbox (all with `ids` None); returns the ids replayed.

    With `current_mapping` (the default), a row whose job now uses another version of its
    mapping is mapped again from the ticket's write-back document, so fixing a mapping and
    replaying sends the fixed document; without it the document is sent as it was made. The
    audit row says which (`remapped_from`: the version the row had; `current_mapping`).
    """
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        if ids is not None:
            known = set(session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.id.in_(list(ids)), OutboxMessage.status == "dead")))
            missing = sorted(set(ids) - known)
            if missing:
                raise NotFoundError(f"no dead letter {', '.join(map(str, missing))}")
        rows = store.replay(session, ids=ids, now=now)
        remapped = {row.id: _remap(hub, row) for row in rows} if current_mapping else {}
        hub.audit.append(session, [AuditEntry(
            actor, "outbox.replay", f"ticket:{row.ticket_id}" if row.ticket_id
            else f"outbox:{row.id}", detail={"outbox_id": row.id, "key": row.idempotency_key,
                                             "replays": row.replays, "mapping": row.mapping,
                                             "current_mapping": current_mapping,
                                             "remapped_from": remapped.get(row.id)})
            for row in rows])
        return [row.id for row in rows]


def _remap(hub: Hub, row: OutboxMessage) -> str | None:
    """Map the row's document again when its job's mapping is now another version; the
    version it had (None: nothing to do)."""
    job = hub.config.hub.jobs.get(row.job)
    if not isinstance(job, WritebackJob):
        return None
    mapping = hub.mappings.get(job.mapping)
    if mapping.label == row.mapping:
        return None
    try:
        document = mapping(row.payload, row=f"outbox {row.id}")
    except RecordMappingError as exc:
        raise InvalidRequestError(f"outbox row {row.id}: mapping {mapping.label} refuses "
                                  f"its document: {exc}") from None
    if document is None:
        raise InvalidRequestError(f"outbox row {row.id}: mapping {mapping.label} filters "
                                  "its document out")
    before = row.mapping
    row.document = json_document(document)
    row.mapping = mapping.label
    return before
