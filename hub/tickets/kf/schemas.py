"""The replies' API shapes: what an agent sends, and the reply as recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ReplyCreate", "ReplyPublic"]


class ReplyCreate(BaseModel):
    """A reply to the ticket's customer, sent through the channel the ticket came from."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"text": "您好，退款已在处理中，预计 1-3 个工作日到账。"}]})

    text: str = Field(min_length=1, max_length=2048)


class ReplyPublic(BaseModel):
    """A reply as recorded. `status`: sent; failed (the vendor refused it: `error_code` and
    `error` say why); unknown (no answer after the attempts: it may have been delivered, and
    a resend with the same `msgid` cannot deliver it twice)."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": 7, "ticket_id": 42, "msgid": "9f86d081884c7d659a2feaa0c55ad015",
        "status": "sent", "attempts": 1, "error": None, "error_code": None,
        "created_at": "2024-05-02T10:00:00Z", "sent_at": "2024-05-02T10:00:01Z"}]})

    id: int
    ticket_id: int
    msgid: str
    status: Literal["sending", "sent", "failed", "unknown"]
    attempts: int
    error: str | None = None
    error_code: int | None = None
    created_at: datetime
    sent_at: datetime | None = None
