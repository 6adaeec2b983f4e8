"""WeCom 微信客服 (kf) conversations: the sync cursor per (connection, kf account), every
message synced (deduplicated on the vendor's msgid) and the agents' replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base

__all__ = ["KfCursor", "KfMessage", "KfReply"]


class KfCursor(Base):
    """Where the sync of one kf account stands: `cursor` is the vendor's `next_cursor` of the
    last page whose messages are stored, committed in the same transaction as them.
    `version` grows with every commit, so two syncs of one account never both advance it."""

    __tablename__ = "kf_cursors"

    connection: Mapped[str] = mapped_column(String(100), primary_key=True)
    open_kfid: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class KfMessage(Base):
    """One synced kf message, once per (connection, account, msgid). Customer messages
    (origin 3) carry the ticket they joined; ids grow in the vendor's order."""

    __tablename__ = "kf_messages"
    __table_args__ = (
        UniqueConstraint("connection", "open_kfid", "msgid", name="uq_kf_messages_msgid"),
        Index("ix_kf_messages_customer", "connection", "open_kfid", "external_userid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    open_kfid: Mapped[str] = mapped_column(String(64))
    msgid: Mapped[str] = mapped_column(String(128))
    external_userid: Mapped[str | None] = mapped_column(String(64))
    origin: Mapped[int] = mapped_column(Integer)
    msgtype: Mapped[str] = mapped_column(String(32))
    send_time: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[dict[str, Any]]  # the message as the vendor gave it (media ids, menu ids)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    synced_at: Mapped[datetime]


class KfReply(Base):
    """An agent's reply sent with send_msg. `msgid` (unique per account) is chosen before the
    first attempt, so a resend of the same reply is one message at the vendor.

    `status`: sending (claimed, not yet answered), sent, failed (refused; `error_code` says
    why), or unknown (the answer was lost: resend it, the msgid makes that safe).
    """

    __tablename__ = "kf_replies"
    __table_args__ = (
        UniqueConstraint("connection", "open_kfid", "msgid", name="uq_kf_replies_msgid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    connection: Mapped[str] = mapped_column(String(100))
    open_kfid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    msgid: Mapped[str] = mapped_column(String(32))
    # The customer message whose 48-hour / 5-message window this reply is counted in.
    window_msgid: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
