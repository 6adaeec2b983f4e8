"""Write-back: what the outbox delivered, what it still owes, and its dead letters."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from hub.core.time import UtcDatetime, as_utc
from hub.runtime import Hub
from hub.store.models import OutboxMessage

from ._sql import at
from .window import ReportWindow

__all__ = ["WritebackFlow", "WritebackHealth", "writeback_health"]


class WritebackFlow(BaseModel):
    """One connection and action's rows by status now, and what finished in the window."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "connection": "kingdee", "action": "refund.create", "pending": 2, "done": 410,
        "dead": 3, "done_in_window": 120, "dead_in_window": 1}]})

    connection: str
    action: str
    pending: int
    done: int
    dead: int
    done_in_window: int
    dead_in_window: int


class WritebackHealth(BaseModel):
    """The outbox: rows by status, the backlog's age, the window's success rate."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "by_status": {"pending": 2, "done": 410, "dead": 3}, "backlog": 2, "overdue": 1,
        "oldest_pending_at": "2026-12-03T03:50:00Z", "oldest_pending_age_s": 600.0,
        "dead_letters": 3, "success_rate": 0.9917,
        "flows": [{"connection": "kingdee", "action": "refund.create", "pending": 2,
                   "done": 410, "dead": 3, "done_in_window": 120, "dead_in_window": 1}]}]})

    by_status: dict[str, int]
    backlog: int = Field(description="Rows still owed (pending).")
    overdue: int = Field(description="Pending rows whose next attempt is already due.")
    oldest_pending_at: UtcDatetime | None
    oldest_pending_age_s: float | None
    dead_letters: int
    success_rate: float | None = Field(description=(
        "Rows done in the window / rows done or dead-lettered in it; null: none finished."))
    flows: list[WritebackFlow]


def writeback_health(hub: Hub, window: ReportWindow) -> WritebackHealth:
    now = window.now
    box = OutboxMessage
    by_flow = select(box.connection, box.action, box.status, func.count()) \
        .group_by(box.connection, box.action, box.status)
    since = [box.updated_at >= at(window.start), box.updated_at < at(window.end)]
    finished = select(box.connection, box.action, box.status, func.count()) \
        .where(box.status.in_(("done", "dead")), *since) \
        .group_by(box.connection, box.action, box.status)
    pending = select(func.min(box.created_at),
                     func.count().filter(box.next_attempt_at <= at(now))) \
        .where(box.status == "pending")
    flows: dict[tuple[str, str], dict[str, int]] = {}
    with hub.engine.connect() as store:
        for connection, action, status, n in store.execute(by_flow):
            flows.setdefault((connection, action), {})[status] = n
        for connection, action, status, n in store.execute(finished):
            flows.setdefault((connection, action), {})[f"{status}_in_window"] = n
        oldest, overdue = store.execute(pending).one()
    totals: dict[str, int] = {}
    for counts in flows.values():
        for status in ("pending", "done", "dead"):
            totals[status] = totals.get(status, 0) + counts.get(status, 0)
    done_w = sum(c.get("done_in_window", 0) for c in flows.values())
    dead_w = sum(c.get("dead_in_window", 0) for c in flows.values())
    oldest_at = as_utc(oldest) if oldest is not None else None
    return WritebackHealth(
        by_status=totals, backlog=totals.get("pending", 0), overdue=overdue or 0,
        oldest_pending_at=oldest_at,
        oldest_pending_age_s=None if oldest_at is None
        else max(0.0, round((now - oldest_at).total_seconds(), 1)),
        dead_letters=totals.get("dead", 0),
        success_rate=round(done_w / (done_w + dead_w), 4) if done_w + dead_w else None,
        flows=[WritebackFlow(connection=connection, action=action,
                             pending=c.get("pending", 0), done=c.get("done", 0),
                             dead=c.get("dead", 0), done_in_window=c.get("done_in_window", 0),
                             dead_in_window=c.get("dead_in_window", 0))
               for (connection, action), c in sorted(flows.items())])
