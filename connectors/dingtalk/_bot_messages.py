"""DingTalk bot messages (user → the app's bot), protocol notes §8 "HTTP-mode bot messages".

In HTTP mode DingTalk POSTs each message to the bot's message URL as plaintext JSON, signed in
two headers: ``timestamp`` (ms) and ``sign = Base64(HMAC-SHA256(appSecret, timestamp + "\\n" +
appSecret))``; a timestamp more than an hour off is refused. The sign covers the timestamp
only, not the body. The body names the message (``msgId``), its sender (``senderStaffId`` for
members of the org, ``senderId`` for anyone), the conversation (``conversationId``,
``conversationType`` "1" single / "2" group) and its content (``msgtype``, ``text.content``).

With body encryption on, the signed body is ``{"encrypt": "<base64>"}``, sealed as event
pushes are (§8: AES-256-CBC with the aes_key, the owner key at the end); and the message JSON
can also arrive inside an event push (`_callbacks`), where `is_bot_message` tells it apart from
an event. Every way gives one `InboundEvent` of type ``bot_message`` keyed by ``msgId``, so a
message that comes two ways is still one event. (How DingTalk encrypts bot messages is not in
the notes: third-party adapters describe the envelope; unverified.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from connectors.sdk import ConnectorError, RejectedError
from connectors.sdk.crypto import (
    CallbackCrypto,
    CallbackCryptoError,
    CallbackSignatureError,
    check_fresh,
)
from connectors.sdk.messaging import InboundEvent, WebhookReply

__all__ = ["BOT_MESSAGE", "DingTalkBotMessages", "bot_sign", "is_bot_message",
           "parse_bot_message"]

BOT_MESSAGE = "bot_message"
_SENDER_FIELDS = ("senderStaffId", "senderId")


def bot_sign(secret: str, timestamp: str) -> str:
    """Base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret))."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def is_bot_message(payload: Mapping[str, Any]) -> bool:
    """Whether a JSON object is a bot message (not an event: it has no ``EventType``)."""
    return (not payload.get("EventType") and bool(payload.get("msgId"))
            and bool(payload.get("msgtype")) and bool(payload.get("conversationId")))


def _text(payload: Mapping[str, Any]) -> str:
    """The message as text: ``text.content``; a rich text's text parts; a voice message's
    recognition; else the type in brackets (``[picture]``, ``[file]``)."""
    text = payload.get("text")
    if isinstance(text, Mapping) and isinstance(text.get("content"), str):
        return str(text["content"]).strip()
    content = payload.get("content")
    if isinstance(content, Mapping):
        parts = content.get("richText")
        if isinstance(parts, list):
            joined = "".join(str(p.get("text", "")) for p in parts if isinstance(p, Mapping))
            if joined.strip():
                return joined.strip()
        if isinstance(content.get("recognition"), str) and content["recognition"].strip():
            return str(content["recognition"]).strip()
    return f"[{payload.get('msgtype')}]"


def parse_bot_message(payload: Mapping[str, Any], *, connector: str,
                      received_at: datetime) -> InboundEvent:
    """The `bot_message` event of a bot message: keyed by ``msgId``, sent by the member's
    user id (``senderStaffId``) or, for someone outside the org, ``senderId``."""
    sender = next((str(payload[n]) for n in _SENDER_FIELDS if payload.get(n)), None)
    return InboundEvent(connector=connector, event_type=BOT_MESSAGE,
                        event_id=str(payload["msgId"]), sender=sender, text=_text(payload),
                        payload=dict(payload), received_at=received_at)


class DingTalkBotMessages:
    """Opens one app bot's messages in HTTP mode.

    Args:
        secret: the secret DingTalk signs with: the bot's app's AppSecret.
        connector: the connector's name, for events and errors.
        connection: the connection's name, for errors.
        window: seconds a message's timestamp may be off from now (DingTalk: one hour).
        clock: Unix-seconds clock, when `open` is given no `now`.
        crypto: the app's callback crypto, to open an encrypted body (None: the connection
            has no callback keys, and an encrypted body is refused).
    """

    def __init__(self, secret: SecretStr, *, connector: str, connection: str | None,
                 window: float, clock: Callable[[], float],
                 crypto: CallbackCrypto | None = None) -> None:
        self._secret = secret
        self._crypto = crypto
        self.connector = connector
        self.connection = connection
        self.window = window
        self.clock = clock

    def open(self, *, method: str, headers: Mapping[str, str], body: bytes,
             now: float | None = None) -> tuple[InboundEvent, WebhookReply]:
        """Verify the sign, check the timestamp, parse the message; the event and the answer
        (HTTP 200, empty: a body would be posted back into the chat as the bot's reply)."""
        current = self.clock() if now is None else now
        try:
            payload = self._payload(method, headers, body, current)
        except ConnectorError as exc:
            exc.connector = exc.connector or self.connector
            exc.connection = exc.connection or self.connection
            raise
        event = parse_bot_message(payload, connector=self.connector,
                                  received_at=datetime.fromtimestamp(current, UTC))
        return event, WebhookReply.empty()

    def _payload(self, method: str, headers: Mapping[str, str], body: bytes,
                 now: float) -> dict[str, Any]:
        if method.upper() != "POST":
            raise RejectedError(f"DingTalk posts bot messages, not {method.upper()}",
                                operation="bot.receive")
        timestamp, sign = headers.get("timestamp", ""), headers.get("sign", "")
        if not (timestamp and sign):
            raise CallbackSignatureError("the bot message lacks the timestamp or sign header",
                                         operation="bot.verify")
        expected = bot_sign(self._secret.get_secret_value(), timestamp)
        if not hmac.compare_digest(expected.encode(), sign.encode("utf-8", "replace")):
            raise CallbackSignatureError("the bot message's sign does not match",
                                         operation="bot.verify")
        check_fresh(timestamp, now=now, window=self.window, milliseconds=True)
        payload = _json_object(body)
        if payload is not None and isinstance(payload.get("encrypt"), str):
            if self._crypto is None:
                raise CallbackCryptoError("an encrypted bot message, and this connection has "
                                          "no callback_aes_key", operation="bot.decrypt")
            payload = _json_object(self._crypto.decrypt(payload["encrypt"]))
        if payload is None or not is_bot_message(payload):
            raise CallbackCryptoError("the bot message is not a JSON object with msgId, "
                                      "msgtype and conversationId", operation="bot.receive")
        return payload

    def __repr__(self) -> str:
        return f"DingTalkBotMessages(secret=***, window={self.window!r})"


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None
