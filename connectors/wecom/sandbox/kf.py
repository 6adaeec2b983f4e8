"""The sandbox's 微信客服 (kf): accounts, customers' messages, sync_msg, send_msg, batchget.

Written from the protocol notes (§9), not from the client: `sync_msg` needs `open_kfid`
(an empty one answers 40058 "invalid Request Parameter", as WeCom does for the SDK that
omits it), pages from an opaque cursor with `has_more`/`next_cursor` (a page may hold fewer
than `limit`, and `empty_pages` answers some pages empty with has_more 1, as observed), reads
only the last 3 days, and accepts a push's Token for 10 minutes (95007 after). `send_msg`
enforces the reply window: 48 hours after the customer's last message (95002, code
UNVERIFIED) and 5 messages in it (95001); a reused msgid is refused (40058, ASSUMED code).
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .state import _ok, errcode

__all__ = ["KfSandbox", "SentKfMessage"]

WINDOW_SECONDS = 48 * 3600
WINDOW_MESSAGES = 5
READABLE_SECONDS = 3 * 24 * 3600
TOKEN_SECONDS = 600
_MSGID = re.compile(r"[0-9A-Za-z_\-]{1,32}")
_TEXT_BYTES = 2048


@dataclass
class SentKfMessage:
    """A reply the sandbox accepted (never returned by sync_msg, as WeCom does)."""

    msgid: str
    open_kfid: str
    touser: str
    msgtype: str
    content: dict[str, Any]
    at: float


@dataclass
class _Window:
    opened_at: float
    sent: int = 0


@dataclass
class KfSandbox:
    """Kf accounts and their conversations. Thread-safe; `clock` is Unix seconds.

    Attributes:
        accounts: open_kfid -> name.
        customers: external_userid -> nickname.
        page_cap: the most messages one page holds whatever `limit` asks (None: `limit`).
        empty_pages: every n-th page is answered empty with has_more 1 (0: never).
        max_untokened: sync_msg calls without a Token per `untokened_window` seconds
            (45009 beyond; ASSUMED: the docs give no number).
    """

    clock: Callable[[], float]
    accounts: dict[str, str] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)
    page_cap: int | None = None
    empty_pages: int = 0
    max_untokened: int = 600
    untokened_window: float = 60.0
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sent: list[SentKfMessage] = field(default_factory=list)
    sync_calls: list[dict[str, Any]] = field(default_factory=list)
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    _windows: dict[tuple[str, str], _Window] = field(default_factory=dict)
    _msgids: dict[str, set[str]] = field(default_factory=dict)
    _untokened: list[float] = field(default_factory=list)
    _pages: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what a test or demo does ---------------------------------------------------------

    def add_account(self, open_kfid: str, name: str) -> None:
        with self._lock:
            self.accounts[open_kfid] = name
            self.messages.setdefault(open_kfid, [])

    def customer_says(self, open_kfid: str, external_userid: str, msgtype: str = "text",
                      content: dict[str, Any] | None = None, *, text: str | None = None,
                      origin: int = 3, send_time: float | None = None) -> dict[str, Any]:
        """Add a message to `open_kfid`'s conversation (origin 3: the customer's, which
        opens a new reply window); the message as sync_msg will return it."""
        if open_kfid not in self.accounts:
            raise KeyError(f"no kf account {open_kfid!r}")
        body = content if content is not None else {"content": text or ""}
        with self._lock:
            now = self.clock()
            at = now if send_time is None else send_time
            message = {"msgid": secrets.token_hex(12), "open_kfid": open_kfid,
                       "external_userid": external_userid, "send_time": int(at),
                       "origin": origin, "msgtype": msgtype, msgtype: dict(body)}
            self.messages[open_kfid].append(message)
            self.customers.setdefault(external_userid, f"客户{len(self.customers) + 1}")
            if origin == 3:
                self._windows[(open_kfid, external_userid)] = _Window(opened_at=at)
            return message

    def push_token(self, open_kfid: str) -> str:
        """A sync Token as a kf_msg_or_event push carries, valid 10 minutes."""
        with self._lock:
            token = "ENC" + secrets.token_urlsafe(24)
            self._tokens[token] = (open_kfid, self.clock() + TOKEN_SECONDS)
            return token

    def sent_to(self, external_userid: str) -> list[SentKfMessage]:
        with self._lock:
            return [m for m in self.sent if m.touser == external_userid]

    # -- the API --------------------------------------------------------------------------

    def account_list(self, body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 100)
        if not 1 <= limit <= 100 or offset < 0:
            return errcode(40058, text="invalid Request Parameter")
        with self._lock:
            names = list(self.accounts.items())[offset:offset + limit]
        return _ok(account_list=[{"open_kfid": k, "name": n, "avatar": "",
                                  "manage_privilege": True} for k, n in names])

    def sync_msg(self, body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        open_kfid = str(body.get("open_kfid") or "")
        token, cursor = str(body.get("token") or ""), str(body.get("cursor") or "")
        with self._lock:
            now = self.clock()
            self.sync_calls.append({"open_kfid": open_kfid, "cursor": cursor,
                                    "token": bool(token), "limit": body.get("limit")})
            if not open_kfid:
                return errcode(40058, text="invalid Request Parameter")
            if open_kfid not in self.accounts:
                return errcode(95000, text="invalid open_kfid")  # ASSUMED code
            if len(token.encode()) > 128 or len(cursor.encode()) > 64:
                return errcode(40058, text="invalid Request Parameter")
            if token:
                owner = self._tokens.get(token)
                if owner is None or owner[0] != open_kfid or owner[1] <= now:
                    return errcode(95007, text="invalid msg token")
            else:
                self._untokened = [t for t in self._untokened if t > now - self.untokened_window]
                if len(self._untokened) >= self.max_untokened:
                    return errcode(45009, text="api freq out of limit")
                self._untokened.append(now)
            limit = body.get("limit") or 1000
            if not isinstance(limit, int) or not 1 <= limit <= 1000:
                return errcode(40058, text="invalid Request Parameter")
            start = self._start(open_kfid, cursor, now)
            if start is None:
                return errcode(40058, text="invalid cursor")
            self._pages += 1
            kept = self.messages[open_kfid]
            if self.empty_pages and self._pages % self.empty_pages == 0 and start < len(kept):
                return _ok(next_cursor=cursor, has_more=1, msg_list=[])
            size = min(limit, self.page_cap or limit)
            page = kept[start:start + size]
            end = start + len(page)
            return _ok(next_cursor=_cursor(open_kfid, end), has_more=int(end < len(kept)),
                       msg_list=[dict(m) for m in page])

    def _start(self, open_kfid: str, cursor: str, now: float) -> int | None:
        kept = self.messages[open_kfid]
        if not cursor:  # the oldest message of the last 3 days
            return next((i for i, m in enumerate(kept)
                         if m["send_time"] > now - READABLE_SECONDS), len(kept))
        try:
            owner, _, index = base64.urlsafe_b64decode(cursor.encode()).decode().rpartition(":")
            position = int(index)
        except ValueError:
            return None
        return position if owner == open_kfid and 0 <= position <= len(kept) else None

    def send_msg(self, body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        open_kfid, touser = str(body.get("open_kfid") or ""), str(body.get("touser") or "")
        msgtype = str(body.get("msgtype") or "")
        msgid = str(body.get("msgid") or "") or secrets.token_hex(16)
        if not open_kfid or not touser or not _MSGID.fullmatch(msgid):
            return errcode(40058, text="invalid Request Parameter")
        if msgtype != "text":  # ASSUMED: the sandbox sends text only
            return errcode(40008)
        content = body.get("text")
        text = str(content.get("content") or "") if isinstance(content, dict) else ""
        if not text.strip():
            return errcode(44004)
        if len(text.encode()) > _TEXT_BYTES:
            return errcode(45002)
        with self._lock:
            now = self.clock()
            if open_kfid not in self.accounts:
                return errcode(95000, text="invalid open_kfid")
            if msgid in self._msgids.setdefault(open_kfid, set()):
                return errcode(40058, text="invalid Request Parameter: msgid exists")
            window = self._windows.get((open_kfid, touser))
            if window is None:
                return errcode(95018, text="send msg not allowed in this session state")
            if now - window.opened_at > WINDOW_SECONDS:
                return errcode(95002, text="send msg out of time limit")
            if window.sent >= WINDOW_MESSAGES:
                return errcode(95001, text="send msg count out of limit")
            window.sent += 1
            self._msgids[open_kfid].add(msgid)
            self.sent.append(SentKfMessage(msgid, open_kfid, touser, msgtype,
                                           {"content": text}, now))
            return _ok(msgid=msgid)

    def customer_batchget(self, body: Any) -> dict[str, Any]:
        ids = body.get("external_userid_list") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            return errcode(40058, text="invalid Request Parameter")
        with self._lock:
            known = [i for i in ids if i in self.customers]
            return _ok(customer_list=[{"external_userid": i, "nickname": self.customers[i],
                                       "avatar": "", "gender": 0, "unionid": ""}
                                      for i in known],
                       invalid_external_userid=[i for i in ids if i not in self.customers])


def _cursor(open_kfid: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{open_kfid}:{position}".encode()).decode()
