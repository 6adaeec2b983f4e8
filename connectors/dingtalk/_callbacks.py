"""DingTalk's encrypted HTTP event push ("事件订阅"), protocol notes §8.

``POST <url>?msg_signature=&timestamp=<ms>&nonce=`` (older spellings ``signature`` and
``timeStamp`` accepted) with body ``{"encrypt": "<base64>"}``. Verified, checked for freshness
and replay, decrypted; answered with ``{"msg_signature", "timeStamp", "nonce", "encrypt"}``
where ``encrypt`` is the encrypted word ``success`` (anything else is a failed push).
A pushed bot message (the message JSON, no ``EventType``) is a ``bot_message`` event, as it is
when it comes in HTTP mode (`_bot_messages`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.sdk import ConnectorError, RejectedError
from connectors.sdk.crypto import (
    CallbackCrypto,
    CallbackCryptoError,
    CallbackSignatureError,
    NonceStore,
    check_fresh,
    check_not_replayed,
)
from connectors.sdk.messaging import InboundEvent, WebhookReply

from ._bot_messages import is_bot_message, parse_bot_message

__all__ = ["CHECK_URL", "DingTalkCallbacks", "parse_event"]

CHECK_URL = "check_url"
SUCCESS = "success"
_NONCE_CHARS = string.ascii_letters + string.digits
_ID_FIELDS = ("EventId", "eventId", "msgId", "MsgId", "bizId")
_SENDER_FIELDS = ("senderStaffId", "staffId", "StaffId", "userId", "UserId")


def _first(query: Mapping[str, str], *names: str) -> str | None:
    return next((query[n] for n in names if query.get(n)), None)


def _event_id(payload: Mapping[str, Any], event_type: str) -> str:
    for name in _ID_FIELDS:
        if payload.get(name):
            return str(payload[name])
    # No id of its own: the same event pushed twice hashes the same, a different one does not.
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return f"{event_type}:{hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:32]}"


def _text(payload: Mapping[str, Any]) -> str | None:
    text = payload.get("text")
    if isinstance(text, Mapping):
        text = text.get("content")
    if not isinstance(text, str):
        text = payload.get("content")
    return text if isinstance(text, str) else None


def parse_event(payload: Mapping[str, Any], *, connector: str,
                received_at: datetime) -> InboundEvent:
    """An InboundEvent from a decrypted event: its ``EventType``, a dedupe id, sender, text;
    a bot message's `bot_message` event."""
    if is_bot_message(payload):
        return parse_bot_message(payload, connector=connector, received_at=received_at)
    event_type = str(payload.get("EventType") or "unknown")
    sender = next((str(payload[n]) for n in _SENDER_FIELDS if payload.get(n)), None)
    return InboundEvent(connector=connector, event_type=event_type,
                        event_id=_event_id(payload, event_type), sender=sender,
                        text=_text(payload), payload=dict(payload), received_at=received_at)


class DingTalkCallbacks:
    """Opens one app's event pushes.

    Args:
        crypto: the app's CallbackCrypto (token, aes_key, owner key as receive id).
        connector: the connector's name, for events and errors.
        connection: the connection's name, for errors.
        window: seconds a push's timestamp may be off from now.
        clock: Unix-seconds clock, when `open` is given no `now`.
    """

    def __init__(self, crypto: CallbackCrypto, *, connector: str, connection: str,
                 window: float, clock: Callable[[], float]) -> None:
        self.crypto = crypto
        self.connector = connector
        self.connection = connection
        self.window = window
        self.clock = clock

    async def open(
        self, *, method: str, query: Mapping[str, str], body: bytes, nonces: NonceStore,
        now: float | None = None,
    ) -> tuple[InboundEvent | None, WebhookReply]:
        """Verify, check, decrypt and parse one push; the event (None for check_url) and
        the encrypted "success" reply."""
        current = self.clock() if now is None else now
        try:
            payload = await self._payload(method, query, body, nonces, current)
        except ConnectorError as exc:
            exc.connector = exc.connector or self.connector
            exc.connection = exc.connection or self.connection
            raise
        reply = self.reply(now=current)
        if payload.get("EventType") == CHECK_URL:
            return None, reply
        return parse_event(payload, connector=self.connector,
                           received_at=datetime.fromtimestamp(current, UTC)), reply

    async def _payload(self, method: str, query: Mapping[str, str], body: bytes,
                       nonces: NonceStore, now: float) -> dict[str, Any]:
        if method.upper() != "POST":
            raise RejectedError(f"DingTalk pushes events with POST, not {method.upper()}",
                                operation="callback")
        signature = _first(query, "msg_signature", "signature")
        timestamp = _first(query, "timestamp", "timeStamp")
        nonce = query.get("nonce")
        if not (signature and timestamp and nonce):
            raise CallbackSignatureError("the push lacks msg_signature, timestamp or nonce",
                                         operation="callback.verify")
        encrypt = _encrypted(body)
        self.crypto.verify(signature, timestamp, nonce, encrypt)
        check_fresh(timestamp, now=now, window=self.window, milliseconds=True)
        # Remembered for twice the window: anything older is refused as stale anyway.
        await check_not_replayed(nonces, f"dingtalk:{self.crypto.receive_id}:{nonce}",
                                 ttl=2 * self.window)
        try:
            payload = json.loads(self.crypto.decrypt(encrypt))
        except (UnicodeDecodeError, ValueError):
            payload = None
        if not isinstance(payload, dict):
            raise CallbackCryptoError("the decrypted event is not a JSON object",
                                      operation="callback.decrypt")
        return payload

    def reply(self, *, now: float) -> WebhookReply:
        """The answer DingTalk expects: "success", encrypted and signed."""
        timestamp = str(int(now * 1000))
        nonce = "".join(secrets.choice(_NONCE_CHARS) for _ in range(8))
        encrypt = self.crypto.encrypt(SUCCESS)
        return WebhookReply.json({
            "msg_signature": self.crypto.signature(timestamp, nonce, encrypt),
            "timeStamp": timestamp, "nonce": nonce, "encrypt": encrypt,
        })

    def __repr__(self) -> str:
        return f"DingTalkCallbacks(crypto={self.crypto!r}, window={self.window!r})"


def _encrypted(body: bytes) -> str:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        data = None
    encrypt = data.get("encrypt") if isinstance(data, dict) else None
    if not isinstance(encrypt, str) or not encrypt:
        raise CallbackCryptoError('the push body is not {"encrypt": "..."}',
                                  operation="callback.decrypt")
    return encrypt
