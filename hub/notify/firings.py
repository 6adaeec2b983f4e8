"""A firing's status as its queued deliveries stand: the summary the firing row shows.

=========  ===========================================================
queued     a delivery waits to be sent (first attempt or a retry)
pending    every send went out; a DingTalk notice's result is not known
sent       every delivery reached every recipient
partial    some deliveries or recipients did not
unknown    a delivery's answer was lost where a resend could duplicate
failed     nothing was delivered (dead letters, or a message that did
           not render)
=========  ===========================================================
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.config.rules import TargetSpec

from ..store.models import NotifyDelivery, NotifyFiring

__all__ = ["firing_status", "refresh_firing", "refresh_firings"]


def firing_status(statuses: set[str]) -> str:
    """The firing's status from its deliveries' queue statuses."""
    if not statuses:
        return "failed"
    if "pending" in statuses:
        return "queued"
    if "accepted" in statuses:
        return "pending"
    if statuses == {"sent"}:
        return "sent"
    if statuses == {"dead"}:
        return "failed"
    if "unknown" in statuses and statuses <= {"unknown", "sent"}:
        return "unknown"
    return "partial"


def refresh_firing(session: Session, firing_id: int, now: datetime) -> str:
    """Recompute the firing row from its deliveries (in the caller's transaction)."""
    rows = list(session.scalars(select(NotifyDelivery).where(
        NotifyDelivery.firing_id == firing_id).order_by(NotifyDelivery.id)))
    return _refresh(session.get_one(NotifyFiring, firing_id), rows, now)


def refresh_firings(session: Session, firing_ids: Collection[int], now: datetime) -> None:
    """`refresh_firing` for many firings at once: two queries, whatever their number."""
    if not firing_ids:
        return
    ids = sorted(firing_ids)
    deliveries: dict[int, list[NotifyDelivery]] = {i: [] for i in ids}
    for row in session.scalars(select(NotifyDelivery).where(
            NotifyDelivery.firing_id.in_(ids)).order_by(NotifyDelivery.id)):
        deliveries[row.firing_id].append(row)
    for firing in session.scalars(select(NotifyFiring).where(NotifyFiring.id.in_(ids))):
        _refresh(firing, deliveries[firing.id], now)


def _refresh(firing: NotifyFiring, rows: list[NotifyDelivery], now: datetime) -> str:
    if firing.error is None:
        firing.status = firing_status({row.status for row in rows})
    firing.deliveries = {"deliveries": [
        row.result or {"connection": row.connection, "targets": _labels(row),
                       "status": "queued"} for row in rows]}
    firing.updated_at = now
    return firing.status


def _labels(row: NotifyDelivery) -> list[str]:
    return [TargetSpec.model_validate(t).label for t in row.targets]
