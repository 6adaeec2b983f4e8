"""微信客服 (WeCom kf) conversations as tickets: synced page by page from a cursor kept per
account (store, sync), answered by agents within WeCom's reply window (replies)."""

from hub.tickets.kf.replies import (
    REPLY_WINDOW,
    REPLY_WINDOW_MESSAGES,
    KfReplyRecord,
    reply_to_ticket,
    resend_reply,
)
from hub.tickets.kf.schemas import ReplyCreate, ReplyPublic
from hub.tickets.kf.store import conversation_ref
from hub.tickets.kf.sync import (
    KfSyncResult,
    kf_connections,
    sync_account,
    sync_after_push,
    sync_connection,
)

__all__ = [
    "REPLY_WINDOW",
    "REPLY_WINDOW_MESSAGES",
    "KfReplyRecord",
    "KfSyncResult",
    "ReplyCreate",
    "ReplyPublic",
    "conversation_ref",
    "kf_connections",
    "reply_to_ticket",
    "resend_reply",
    "sync_account",
    "sync_after_push",
    "sync_connection",
]
