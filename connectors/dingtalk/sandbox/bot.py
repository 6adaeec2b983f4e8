"""DingTalk's side of an app bot in HTTP mode (protocol notes §8, "HTTP-mode bot messages"):
what a member typing to the company's bot makes DingTalk POST to the bot's message URL.

The body is plaintext JSON; the headers ``timestamp`` (ms) and ``sign`` (`robot_sign` of the
app secret: the sandbox's own HMAC, written from the notes, not the connector's) authenticate
it. A retry of the same message is the same body with the same ``msgId``. With body
encryption (`encrypt=True`, the app's event-push cipher), the signed body is
``{"encrypt": "<base64>"}`` sealed as pushes are (§8) — the envelope third-party adapters
describe; the notes do not document it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from .crypto import PushCipher, robot_sign

__all__ = ["BotMessenger"]

SESSION_LIFETIME_MS = 90 * 60 * 1000  # a session webhook lives about 1.5 hours


def _opaque(prefix: str, *parts: str) -> str:
    """A stable, opaque id as DingTalk shows them (``cid…``, ``$:LWCP_v1:$…``)."""
    return prefix + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


class BotMessenger:
    """Sends bot messages the way DingTalk does in HTTP mode, for tests and benchmarks.

    Args:
        app_secret: the bot's app's AppSecret (DingTalk signs with it).
        robot_code: the bot's code (usually the AppKey).
        corp_id: the org's corp id (``senderCorpId``, ``chatbotCorpId``).
        base_url: the host of the ``sessionWebhook`` the message carries.
        clock: Unix-seconds clock for ``timestamp``, ``createAt`` and the session's expiry.
        cipher: the app's event-push cipher, for encrypted bodies.

    Example:
        ```python
        bot = BotMessenger(app_secret=SECRET, robot_code=APP_KEY)
        message = bot.message(sender="user001", text="我的退款还没到账")
        response = await bot.send(f"{hub_url}/webhooks/dingtalk", message)
        ```
    """

    def __init__(self, *, app_secret: str, robot_code: str, corp_id: str = "dingsandboxcorp",
                 base_url: str = "https://oapi.dingtalk.com",
                 clock: Callable[[], float] = time.time,
                 cipher: PushCipher | None = None) -> None:
        self._secret = app_secret
        self._cipher = cipher
        self.robot_code = robot_code
        self.corp_id = corp_id
        self.base_url = base_url.rstrip("/")
        self.clock = clock

    def message(self, *, sender: str, text: str, nick: str | None = None,
                group: str | None = None, msg_id: str | None = None, staff: bool = True,
                msgtype: str = "text") -> dict[str, Any]:
        """One message's body: from `sender` (a member's user id; `staff=False` for someone
        outside the org, who has no ``senderStaffId``), in the single chat with the bot, or
        in the group titled `group` (the bot @-mentioned)."""
        created = int(self.clock() * 1000)
        body: dict[str, Any] = {
            "msgId": msg_id or "msg" + secrets.token_urlsafe(18),
            "msgtype": msgtype, "createAt": created,
            "conversationType": "2" if group else "1",
            "conversationId": _opaque("cid", group or sender, self.robot_code),
            "senderId": _opaque("$:LWCP_v1:$", sender), "senderNick": nick or sender,
            "senderCorpId": self.corp_id, "chatbotCorpId": self.corp_id,
            "chatbotUserId": _opaque("$:LWCP_v1:$", self.robot_code),
            "robotCode": self.robot_code, "isAdmin": False,
            "sessionWebhook": f"{self.base_url}/robot/sendBySession?session="
                              + secrets.token_hex(16),
            "sessionWebhookExpiredTime": created + SESSION_LIFETIME_MS,
        }
        if msgtype == "text":
            body["text"] = {"content": text}
        else:
            body["content"] = {"richText": [{"text": text}]}
        if staff:
            body["senderStaffId"] = sender
        if group:
            body.update(conversationTitle=group, isInAtList=True,
                        atUsers=[{"dingtalkId": body["chatbotUserId"]}])
        return body

    def headers(self, *, timestamp: str | None = None, sign: str | None = None
                ) -> dict[str, str]:
        """The request's headers, signed now (or at `timestamp`); `sign` overrides the
        computed one (a forgery)."""
        stamp = timestamp or str(int(self.clock() * 1000))
        return {"Content-Type": "application/json; charset=utf-8", "timestamp": stamp,
                "sign": sign or robot_sign(self._secret, stamp)}

    def body(self, message: Mapping[str, Any], *, encrypt: bool = False) -> bytes:
        """The request body: the message as JSON, or sealed in ``{"encrypt": ...}``."""
        content = json.dumps(message, ensure_ascii=False).encode("utf-8")
        if not encrypt:
            return content
        if self._cipher is None:
            raise ValueError("this BotMessenger was made without the app's cipher")
        return json.dumps({"encrypt": self._cipher.seal(content)}).encode()

    async def send(self, url: str, message: Mapping[str, Any], *,
                   client: httpx.AsyncClient | None = None, encrypt: bool = False,
                   **signing: Any) -> httpx.Response:
        """POST one message to `url` (`signing` as for `headers`; `encrypt` seals the body);
        the receiver's answer."""
        content = self.body(message, encrypt=encrypt)
        headers = self.headers(**signing)
        if client is not None:
            return await client.post(url, content=content, headers=headers)
        async with httpx.AsyncClient(timeout=10) as own:
            return await own.post(url, content=content, headers=headers)

    def __repr__(self) -> str:
        return f"BotMessenger(robot_code={self.robot_code!r}, app_secret=***)"
