"""Tickets, the enrichment each one is owed, the notify rules that fired on them, and the
inbound webhook events that open or update them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base

__all__ = ["EnrichmentTask", "NotifyFiring", "TERMINAL_TICKET_STATUSES", "Ticket", "WebhookEvent"]


# A ticket in one of these is done: no overdue check, no new enrichment when its customer
# changes, and a later message of its conversation opens a new ticket.
TERMINAL_TICKET_STATUSES = ("resolved", "closed")


class Ticket(Base):
    __tablename__ = "tickets"
    # The dashboard's reads (hub.reports): every column its figures group or measure by,
    # so they never read the rows (whose enrichment documents run to kilobytes).
    __table_args__ = (
        Index("ix_tickets_opened", "created_at", "channel", "category", "status", "priority",
              "enrichment_status", "resolved_at", "enriched_at", "updated_at",
              "first_response_at"),
        Index("ix_tickets_resolved", "resolved_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), default="open")
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_mobile: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    enrichment_status: Mapped[str] = mapped_column(String(16), default="pending")
    enrichment: Mapped[dict[str, Any] | None]
    enrichment_error: Mapped[str | None] = mapped_column(Text)
    enriched_at: Mapped[datetime | None]
    category: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    # The conversation or device a ticket came from (e.g. "wecom:zhangsan"): later messages
    # of it update the open ticket instead of opening another.
    external_ref: Mapped[str | None] = mapped_column(String(200), index=True)
    resolved_at: Mapped[datetime | None]
    # When a person first answered it: the first reply sent to the customer, status change
    # by an agent, or resolution, whichever came first (mark_answered); set once.
    first_response_at: Mapped[datetime | None]
    resolution: Mapped[dict[str, Any] | None]  # the last resolution as the agent gave it
    resolutions: Mapped[int] = mapped_column(Integer, server_default="0")
    # An imported ticket's mapped fields that have no column of their own (as customers').
    attributes: Mapped[dict[str, Any] | None]
    # When the ticket was opened; empty for an imported one whose source gave no time (the
    # API then shows `updated_at`, when the hub stored it: its contract has no empty time).
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    def mark_answered(self, at: datetime) -> None:
        """A person answered the ticket at `at`: the first such time is kept."""
        if self.first_response_at is None:
            self.first_response_at = at


class EnrichmentTask(Base):
    """A ticket owed an enrichment, written in the same transaction as the event that owes
    it (created, customer changed); one row per ticket, re-armed by each new event.

    `status`: pending (due at `due_at`; in flight while `lease_until` is in the future),
    done, or failed (the retry budget ran out; the ticket stays partially enriched).
    """

    __tablename__ = "enrichment_queue"
    __table_args__ = (Index("ix_enrichment_queue_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(32))  # created, customer_changed, requested
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The W3C traceparent of the event that queued it (tracing on), continued by the drain.
    traceparent: Mapped[str | None] = mapped_column(String(55))


class NotifyFiring(Base):
    """A notify rule fired for a ticket in one state: at most once, by the unique key."""

    __tablename__ = "notify_firings"
    __table_args__ = (
        UniqueConstraint("rule", "ticket_id", "state", name="uq_notify_firings_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    state: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # claimed, pending, sent, partial, failed
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    deliveries: Mapped[dict[str, Any] | None]  # {"deliveries": [...]}, secret-free
    error: Mapped[str | None] = mapped_column(Text)
    fired_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookEvent(Base):
    """An accepted inbound callback, once per (connection, vendor event id): retries dedupe."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("connection", "event_id", name="uq_webhook_events_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    sender: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # ticket, ignored, skipped, failed
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    payload: Mapped[dict[str, Any]]  # the decrypted event (never the ciphertext)
    error: Mapped[str | None] = mapped_column(Text)
    deliveries: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]
