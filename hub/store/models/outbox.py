"""The outbox: write-backs owed to other systems, each sent exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base

__all__ = ["OutboxMessage"]


class OutboxMessage(Base):
    """A write to another system, owed since the ticket change that caused it committed.

    Written in the same transaction as that change. `status`: pending (due at
    `next_attempt_at`; in flight while `lease_until` is in the future), done, or dead (a
    dead letter: the retry budget ran out or the vendor refused; replayable). Rows sharing an
    `ordering_key` are sent one at a time, in id order.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("connection", "action", "idempotency_key", name="uq_outbox_key"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_ordering", "ordering_key", "id"),
        Index("ix_outbox_flow", "connection", "action", "status", "updated_at"),  # reports
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    ordering_key: Mapped[str] = mapped_column(String(200))
    connection: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[str] = mapped_column(String(120))  # name@version that built `document`
    payload: Mapped[dict[str, Any]]  # the write-back document the mapping read
    document: Mapped[dict[str, Any]]  # what is sent: the mapping's output
    status: Mapped[str] = mapped_column(String(16))  # pending, done, dead
    step: Mapped[str | None] = mapped_column(String(16))  # saved, submitted, done
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    replays: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None]  # the WriteResult: vendor id, number, status
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    # The W3C traceparent of the change that queued the write (tracing on), continued by
    # the dispatcher.
    traceparent: Mapped[str | None] = mapped_column(String(55))
