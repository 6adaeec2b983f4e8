"""Time helpers: every datetime the hub stores, compares or shows is in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

__all__ = ["UtcDatetime", "as_utc", "as_utc_or_none"]


def as_utc(value: datetime) -> datetime:
    """`value` in UTC. The store keeps UTC and SQLite hands it back without a zone: a naive
    datetime is UTC; an aware one is converted (the same instant)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


# A datetime field of an API model: always with its offset (RFC 3339 `date-time`), in UTC.
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
