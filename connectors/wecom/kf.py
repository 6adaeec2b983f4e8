"""微信客服 (kf): customers' WeChat conversations with the company's kf accounts.

WeCom pushes ``kf_msg_or_event`` (an encrypted callback with a short-lived sync `Token` and
the account's `OpenKfId`, no message); the app then pulls with ``kf/sync_msg`` from the cursor
it kept for that account, and answers with ``kf/send_msg`` while the reply window is open
(48 hours after the customer's last message, at most 5 messages in it).

`KfClient` speaks the four calls; `KfChannel` is what the hub looks for on a connector;
`message_text` turns a synced message into the text a ticket shows.

=================  =====================================================================
errcode            meaning here
=================  =====================================================================
95001              5 replies sent since the customer's last message (field reports)
95002              48 hours passed since the customer's last message (UNVERIFIED code)
95007              the sync Token is bad or expired (field reports): synced again without
95018              the session's state does not allow the app to send (field reports)
=================  =====================================================================
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from connectors.sdk import HttpClient, RejectedError

from .client import KF_ACCOUNT_LIST, KF_CUSTOMER_BATCHGET, KF_SEND_MSG, KF_SYNC_MSG

__all__ = [
    "KF_EVENT",
    "ORIGIN_CUSTOMER",
    "REPLY_EXPIRED",
    "REPLY_LIMIT",
    "SESSION_CLOSED",
    "KfAccount",
    "KfChannel",
    "KfClient",
    "KfCustomer",
    "KfPage",
    "message_text",
    "new_msgid",
]

KF_EVENT = "event.kf_msg_or_event"  # the InboundEvent type of the push
ORIGIN_CUSTOMER, ORIGIN_EVENT, ORIGIN_SERVICER = 3, 4, 5
REPLY_LIMIT = "95001"
REPLY_EXPIRED = "95002"  # UNVERIFIED: field reports name 95001 for the count only
BAD_SYNC_TOKEN = "95007"
SESSION_CLOSED = "95018"
MAX_SYNC_LIMIT = 1000
_ACCOUNTS_PAGE = 100
_CUSTOMERS_PER_CALL = 100


@dataclass(frozen=True, slots=True)
class KfAccount:
    """A 客服账号: its `open_kfid` (the id every kf call names) and display name."""

    open_kfid: str
    name: str
    manage_privilege: bool = False


@dataclass(frozen=True, slots=True)
class KfPage:
    """One `sync_msg` answer: its messages in the vendor's order, and where to go on from."""

    messages: tuple[dict[str, Any], ...]
    next_cursor: str
    has_more: bool


@dataclass(frozen=True, slots=True)
class KfCustomer:
    """A WeChat customer as `customer/batchget` describes one."""

    external_userid: str
    nickname: str


@runtime_checkable
class KfChannel(Protocol):
    """A connector that carries 微信客服 conversations (the `wecom` connector does)."""

    async def kf_accounts(self) -> list[KfAccount]:
        """Every kf account the app may serve."""
        ...

    async def kf_sync(self, open_kfid: str, *, cursor: str | None,
                      token: str | None = None) -> KfPage:
        """One page of `open_kfid`'s messages after `cursor` (None: the oldest kept)."""
        ...

    async def kf_send_text(self, open_kfid: str, *, to: str, text: str, msgid: str) -> str:
        """Send `text` to customer `to`; the msgid WeCom echoes."""
        ...

    async def kf_customers(self, external_userids: Sequence[str]) -> list[KfCustomer]:
        """The customers' nicknames (only those active in the last 48 hours are known)."""
        ...

    async def aclose(self) -> None:
        """Close the connector's clients."""
        ...


def new_msgid() -> str:
    """A send_msg `msgid`: 32 characters of ``[0-9a-f]``, unique per account in practice."""
    return secrets.token_hex(16)


class KfClient:
    """The kf calls over the connector's HttpClient (token, budgets and audit included).

    Args:
        http: the connector's client.
        sync_limit: `limit` of each sync_msg (1..1000).
        voice_format: 0 Amr, 1 Silk.
    """

    def __init__(self, http: HttpClient, *, sync_limit: int = MAX_SYNC_LIMIT,
                 voice_format: int = 0) -> None:
        self.http = http
        self.sync_limit = sync_limit
        self.voice_format = voice_format

    async def accounts(self) -> list[KfAccount]:
        found: list[KfAccount] = []
        offset = 0
        while True:
            response = await self.http.send(
                "POST", KF_ACCOUNT_LIST, operation="kf.account.list",
                json={"offset": offset, "limit": _ACCOUNTS_PAGE}, idempotency_key="read")
            page = response.json().get("account_list") or []
            found += [KfAccount(str(a["open_kfid"]), str(a.get("name") or ""),
                                bool(a.get("manage_privilege"))) for a in page]
            if len(page) < _ACCOUNTS_PAGE:
                return found
            offset += len(page)

    async def sync(self, open_kfid: str, *, cursor: str | None,
                   token: str | None = None) -> KfPage:
        """One sync_msg page. `open_kfid` is always sent (the popular SDK omits it and
        WeCom refuses); a refused sync Token (95007) is dropped and the page asked again
        without it — the Token only lifts the strict rate limit."""
        if not open_kfid:
            raise ValueError("sync_msg needs an open_kfid")
        body: dict[str, Any] = {"cursor": cursor or "", "limit": self.sync_limit,
                                "voice_format": self.voice_format, "open_kfid": open_kfid}
        if token:
            body["token"] = token
        try:
            response = await self.http.send("POST", KF_SYNC_MSG, operation="kf.sync_msg",
                                            json=body, idempotency_key="read")
        except RejectedError as exc:
            if not token or exc.vendor_code != BAD_SYNC_TOKEN:
                raise
            return await self.sync(open_kfid, cursor=cursor)
        answer = response.json()
        return KfPage(messages=tuple(answer.get("msg_list") or ()),
                      next_cursor=str(answer.get("next_cursor") or cursor or ""),
                      has_more=bool(answer.get("has_more")))

    async def send_text(self, open_kfid: str, *, to: str, text: str, msgid: str) -> str:
        """send_msg of a text. Not retried by the client once it may have arrived (5xx, a
        lost answer): the caller resends with the same msgid, which WeCom refuses to
        deliver twice."""
        response = await self.http.send(
            "POST", KF_SEND_MSG, operation="kf.send_msg",
            json={"touser": to, "open_kfid": open_kfid, "msgid": msgid, "msgtype": "text",
                  "text": {"content": text}})
        return str(response.json().get("msgid") or msgid)

    async def customers(self, external_userids: Sequence[str]) -> list[KfCustomer]:
        found: list[KfCustomer] = []
        ids = list(dict.fromkeys(external_userids))
        for start in range(0, len(ids), _CUSTOMERS_PER_CALL):
            response = await self.http.send(
                "POST", KF_CUSTOMER_BATCHGET, operation="kf.customer.batchget",
                json={"external_userid_list": ids[start:start + _CUSTOMERS_PER_CALL]},
                idempotency_key="read")
            found += [KfCustomer(str(c["external_userid"]), str(c.get("nickname") or ""))
                      for c in response.json().get("customer_list") or []]
        return found


def message_text(message: Mapping[str, Any]) -> str:
    """What a ticket shows of one synced message: its text, or a bracketed reference to
    what it carries (media by media_id, a location, a link, a menu click, an event)."""
    kind = str(message.get("msgtype") or "unknown")
    body = message.get(kind)
    part: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    if kind == "text":
        text = str(part.get("content") or "")
        menu = part.get("menu_id")
        return f"{text} [menu click {menu}]" if menu else text
    if kind in ("image", "voice", "video", "file"):
        return f"[{kind} media_id={part.get('media_id') or '?'}]"
    if kind == "location":
        return (f"[location {part.get('name') or ''} {part.get('address') or ''} "
                f"({part.get('latitude')}, {part.get('longitude')})]")
    if kind == "link":
        return f"[link {part.get('title') or ''} {part.get('url') or ''}]".replace("  ", " ")
    if kind == "business_card":
        return f"[business card {part.get('userid') or ''}]"
    if kind == "miniprogram":
        return f"[miniprogram {part.get('title') or ''} {part.get('pagepath') or ''}]"
    if kind == "msgmenu":
        return f"[menu {part.get('head_content') or ''}]"
    if kind == "event":
        return f"[event {part.get('event_type') or 'unknown'}]"
    return f"[{kind}]"
