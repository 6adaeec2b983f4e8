"""The customers the pulls and imports land, their raw source records, and the histories
connections last sent for them (the enrichment's cache)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base

__all__ = ["Customer", "CustomerSnapshot", "ExternalRecord"]


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_customers_source_extid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    tier: Mapped[str | None] = mapped_column(String(32))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[str | None] = mapped_column(String(120))  # name@version that wrote it
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ExternalRecord(Base):
    """The raw record as the source sent it, kept for replay and for tracing a value back."""

    __tablename__ = "external_records"
    __table_args__ = (
        UniqueConstraint("source", "stream", "external_id", name="uq_external_records_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    stream: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime]


class CustomerSnapshot(Base):
    """A customer's history as a connection last sent it, fresh for the enrich job's
    `cache_ttl`; `fetch_owner`/`fetch_until` lease the next fetch to one process."""

    __tablename__ = "customer_snapshots"

    connection: Mapped[str] = mapped_column(String(100), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    history: Mapped[dict[str, Any] | None]
    fetched_at: Mapped[datetime | None]
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    fetch_owner: Mapped[str | None] = mapped_column(String(100))
    fetch_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]
