"""Turning mapped values (datetimes, decimals) into JSON, and hashing them stably."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator

__all__ = ["UtcDatetime", "as_utc", "content_hash", "to_jsonable"]


def as_utc(value: datetime) -> datetime:
    """The store keeps UTC; SQLite hands it back without a zone: say it is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# A datetime field of an API model: always with its offset (RFC 3339 `date-time`).
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


def to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def content_hash(value: Any) -> str:
    text = json.dumps(to_jsonable(value), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
