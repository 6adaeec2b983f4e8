"""The audit chain: its records and its head."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base

__all__ = ["AuditHead", "AuditRecord"]


class AuditRecord(Base):
    """One append-only audit row, chained to the one before it by `prev_hash`."""

    __tablename__ = "audit_log"
    # (action, at): the health figures' time ranges; (action, seq): the newest rows of one
    # action, a page at a time (GET /audit, the console's audit page).
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"),
                      Index("ix_audit_log_action_seq", "action", "seq"))

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(32))
    # Plain JSON text even on PostgreSQL: the hash covers exactly what was written.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The audit key that signed `hash` (HMAC-SHA256); None: a row from before the chain
    # was keyed, linked by plain SHA-256.
    key_id: Mapped[str | None] = mapped_column(String(16))


class AuditHead(Base):
    """The chain's last sequence number and hash, signed (`mac`) with the audit key:
    catches truncation, serialises appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))
    mac: Mapped[str | None] = mapped_column(String(64))
