"""API keys, and the Idempotency-Key records of their callers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base, JsonDoc

__all__ = ["ApiKey", "IdempotencyRecord"]


class ApiKey(Base):
    """A key for the REST API: shown once, stored as a hash, scoped, revocable, expiring."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown; finds the row
    secret_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the whole key
    role: Mapped[str] = mapped_column(String(16))  # agent, integrator, admin
    scopes: Mapped[list[str]] = mapped_column(JsonDoc, default=list)  # e.g. ["pii"]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """The answer to a POST sent with an `Idempotency-Key`, replayed to its repeats."""

    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while in progress
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
