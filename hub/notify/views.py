"""Reading the notify queue and replaying its dead letters: the services behind the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ..audit import AuditEntry
from ..errors import NotFoundError
from ..runtime import Hub
from ..store.models import NotifyDelivery
from . import queue
from .firings import refresh_firing

__all__ = ["DeliveryView", "list_deliveries", "queue_counts", "replay_deliveries"]


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One queued delivery as the CLI shows it (targets are labels: mobiles masked)."""

    id: int
    ticket_id: int
    rule: str
    connection: str
    robot: str | None
    status: str
    attempts: int
    replays: int
    maybe_delivered: int
    error: str | None
    error_kind: str | None
    failed: tuple[str, ...]
    next_attempt_at: datetime
    attempts_log: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, row: NotifyDelivery) -> DeliveryView:
        result = row.result or {}
        return cls(row.id, row.ticket_id, row.rule, row.connection, row.robot, row.status,
                   row.attempts, row.replays, row.maybe_delivered, row.error, row.error_kind,
                   tuple(result.get("failed") or ()), row.next_attempt_at,
                   tuple(row.attempts_log or ()))


def list_deliveries(hub: Hub, *, statuses: Sequence[str] | None = None,
                    limit: int = 50) -> list[DeliveryView]:
    """Deliveries, newest first (only those in `statuses` when given)."""
    query = select(NotifyDelivery).order_by(NotifyDelivery.id.desc()).limit(limit)
    if statuses:
        query = query.where(NotifyDelivery.status.in_(list(statuses)))
    with hub.sessions() as session:
        return [DeliveryView.of(row) for row in session.scalars(query)]


def queue_counts(hub: Hub) -> dict[str, int]:
    with hub.sessions() as session:
        return queue.counts(session)


def replay_deliveries(hub: Hub, ids: Sequence[int] | None, *, actor: str) -> list[int]:
    """Dead and unknown deliveries back in the queue, due now, with a fresh retry budget
    (all of them with `ids` None); the ids replayed. Raises NotFoundError for an id that
    is not a dead letter or an unknown delivery."""
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        if ids is not None:
            known = set(session.scalars(select(NotifyDelivery.id).where(
                NotifyDelivery.id.in_(list(ids)),
                NotifyDelivery.status.in_(queue.REPLAYABLE))))
            missing = sorted(set(ids) - known)
            if missing:
                raise NotFoundError("no dead or unknown notify delivery "
                                    + ", ".join(map(str, missing)))
        rows = queue.replay(session, ids=ids, now=now)
        for firing_id in sorted({row.firing_id for row in rows}):
            refresh_firing(session, firing_id, now)
        hub.audit.append(session, [AuditEntry(
            actor, "notify.replay", f"ticket:{row.ticket_id}",
            detail={"delivery": row.id, "rule": row.rule, "replays": row.replays})
            for row in rows])
        return [row.id for row in rows]
