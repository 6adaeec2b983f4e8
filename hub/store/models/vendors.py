"""What the hub keeps for the vendors' APIs: their tokens, rate budgets and the callback
nonces already seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base

__all__ = ["CallbackNonce", "ConnectorToken", "RateBudget"]


class ConnectorToken(Base):
    """A vendor token cached for every process of the hub, until it expires."""

    __tablename__ = "connector_tokens"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[float | None] = mapped_column(Float)  # Unix seconds
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class RateBudget(Base):
    """A shared request budget's state (GCRA: the theoretical arrival time of the next call)."""

    __tablename__ = "rate_budgets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)  # Unix seconds


class CallbackNonce(Base):
    """A vendor callback's nonce, remembered until it expires: seen again, it is a replay."""

    __tablename__ = "callback_nonces"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # Unix seconds
