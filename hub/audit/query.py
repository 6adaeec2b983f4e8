"""Reading the audit log by actor, target, action and time, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from hub.core.pages import Page, decode_cursor, filter_text, page_of
from hub.core.time import UtcDatetime, as_utc
from hub.errors import InvalidRequestError
from hub.store.models import AuditRecord

__all__ = ["AuditRow", "query_audit"]


class AuditRow(BaseModel):
    """One audit row: who did what to which thing, how it went, and the (redacted) detail."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "seq": 1042, "at": "2026-11-23T10:00:00Z", "actor": "api:apikey:hk_3f9a",
        "action": "ticket.create", "target": "ticket:123", "outcome": "ok",
        "detail": {"channel": "web"}, "hash": "9f2c…"}]})

    seq: int
    at: UtcDatetime
    actor: str
    action: str
    target: str | None
    outcome: str
    detail: dict[str, Any] | None
    hash: str

    @classmethod
    def of(cls, row: AuditRecord) -> AuditRow:
        return cls(seq=row.seq, at=row.at, actor=row.actor, action=row.action,
                   target=row.target, outcome=row.outcome, detail=row.detail, hash=row.hash)


def _match(query: Select[Any], column: InstrumentedAttribute[Any],
           value: str | None) -> Select[Any]:
    """Exact, or a prefix when the value ends in `*` (`ticket:*`, `http.*`)."""
    if not value:
        return query
    if value.endswith("*"):
        prefix = value[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return query.where(column.like(prefix + "%", escape="\\"))
    return query.where(column == value)


def _aware(name: str, at: datetime | None) -> datetime | None:
    # UTC: SQLite keeps the UTC wall time without its zone, and compares it as text.
    if at is None:
        return None
    try:
        return as_utc(at)
    except OverflowError:
        raise InvalidRequestError(f"{name}: out of range") from None


def query_audit(sessions: sessionmaker[Session], *, actor: str | None = None,
                target: str | None = None, action: str | None = None,
                since: datetime | None = None, until: datetime | None = None,
                cursor: str | None = None, limit: int = 50) -> Page[AuditRow]:
    """Rows matching every filter, newest first; `since` inclusive, `until` exclusive."""
    actor, target = filter_text("actor", actor), filter_text("target", target)
    action = filter_text("action", action)
    since, until = _aware("since", since), _aware("until", until)
    if since is not None and until is not None and until <= since:
        raise InvalidRequestError("until: must be later than since")
    query: Select[Any] = select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(limit + 1)
    after = decode_cursor("audit", cursor)
    if after is not None:
        query = query.where(AuditRecord.seq < after)
    query = _match(query, AuditRecord.actor, actor)
    query = _match(query, AuditRecord.target, target)
    query = _match(query, AuditRecord.action, action)
    if since is not None:
        query = query.where(AuditRecord.at >= since)
    if until is not None:
        query = query.where(AuditRecord.at < until)
    with sessions() as session:
        rows = session.scalars(query).all()
        return page_of("audit", rows, limit, key=lambda r: r.seq, view=AuditRow.of)
