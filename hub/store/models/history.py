"""What separate pull jobs store of a customer's history: their orders (with the lines) and
past interactions (calls, chats, visits…), each row linked to the customer pulled from the
same connection by that customer's external id (so it links whichever arrives first)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base

__all__ = ["HistoryRow", "Interaction", "Order"]


class HistoryRow(Base):
    """The columns an order and an interaction share: the pull's connection (`source`), the
    record's id there (unique per source), the customer's id there, the mapped item as
    enrichment serves it, its content hash, the mapping that wrote it, and when it was first
    and last written (`updated_at`: its freshness)."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    customer_external_id: Mapped[str] = mapped_column(String(128))
    item: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Order(HistoryRow):
    """A customer's order; its lines stay in the item (`items`)."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_orders_source_extid"),
        Index("ix_orders_customer", "source", "customer_external_id"),
    )


class Interaction(HistoryRow):
    """A past contact with a customer: a call, a chat, a visit…"""

    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_interactions_source_extid"),
        Index("ix_interactions_customer", "source", "customer_external_id"),
    )
