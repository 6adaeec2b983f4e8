"""The notify send queue: one row per delivery a firing owes (a robot post, or one send to
a connection's people), written in the transaction that decided the firing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base, JsonDoc

__all__ = ["NotifyDelivery"]


class NotifyDelivery(Base):
    """A message owed to one robot or to one connection's people.

    `status`: pending (due at `next_attempt_at`; in flight while `lease_until` is in the
    future), accepted (the vendor took it; its result is asked at `next_attempt_at`: DingTalk
    work notices), sent, partial (some recipients not reached, listed in `result`), unknown
    (the answer was lost after the request left and the vendor cannot dedupe a resend: maybe
    delivered; replayable), or dead (refused for good or retry budget spent; replayable).
    `attempts_log` classifies every attempt (never_sent, refused, throttled, maybe_delivered,
    accepted).
    """

    __tablename__ = "notify_deliveries"
    __table_args__ = (Index("ix_notify_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    firing_id: Mapped[int] = mapped_column(ForeignKey("notify_firings.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(100))
    connection: Mapped[str] = mapped_column(String(100))
    robot: Mapped[str | None] = mapped_column(String(100))  # None: people
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)  # the TargetSpecs, as configured
    message: Mapped[dict[str, Any]]  # the rendered Message
    guarantee: Mapped[str] = mapped_column(String(16))  # at_most_once, at_least_once
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    follow_ups: Mapped[int] = mapped_column(Integer, default=0)
    replays: Mapped[int] = mapped_column(Integer, default=0)
    maybe_delivered: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None]  # the DeliveryRecord, secret-free
    attempts_log: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonDoc)
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
