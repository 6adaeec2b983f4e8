"""WeCom's inbound callbacks: URL verification (GET) and encrypted messages and events (POST).

Both arrive on the app's one callback URL with ``msg_signature``, ``timestamp`` (Unix
seconds) and ``nonce`` in the query. In order, each is: checked for a fresh timestamp (cheap,
and says nothing about the key), verified against the signature over the ciphertext (before
any decryption), recorded as a nonce (only once authentic, so forgeries cannot burn nonces),
decrypted (which also checks the receive id, the corp id) and parsed. The GET's answer is the
decrypted ``echostr`` as the raw body; a POST's is an empty 200 — or an encrypted passive
reply built with `passive_reply`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from connectors.sdk import ConnectorError
from connectors.sdk.crypto import (
    CallbackCrypto,
    CallbackCryptoError,
    CallbackSignatureError,
    NonceStore,
    check_fresh,
    check_not_replayed,
)
from connectors.sdk.messaging import InboundEvent, WebhookReply

from ._xml import UnsafeXmlError, parse_fields

__all__ = ["WeComCallbacks", "event_of"]

_QUERY = ("msg_signature", "timestamp", "nonce")
_REPLY = ("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
          "<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
          "<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")


def event_of(connector: str, fields: Mapping[str, Any], *, received_at: datetime) -> InboundEvent:
    """An InboundEvent of a decrypted callback's fields.

    `event_type` is the `MsgType` (``text``, ``image``, ...), or ``event.<Event>`` for events
    (``event.device_alarm``); a type this code does not know is returned all the same. The
    dedupe key is `MsgId`, or `FromUserName` + `CreateTime` for events, which have none.
    """
    msg_type = str(fields.get("MsgType") or "") or "unknown"
    event_type = f"event.{fields.get('Event') or 'unknown'}" if msg_type == "event" else msg_type
    sender = str(fields["FromUserName"]) if fields.get("FromUserName") else None
    msg_id = fields.get("MsgId")
    event_id = str(msg_id) if msg_id else f"{sender or ''}:{fields.get('CreateTime') or ''}"
    if event_type == "event.kf_msg_or_event":  # no sender; one push per sync Token
        sender = str(fields.get("OpenKfId") or "") or None
        token = str(fields.get("Token") or "").encode()
        event_id = f"kf:{sender or ''}:{hashlib.sha256(token).hexdigest()[:24]}"
    text = fields.get("Content") if msg_type == "text" else None
    return InboundEvent(
        connector=connector, event_type=event_type, event_id=event_id, sender=sender,
        text=str(text) if text is not None else None, payload=dict(fields),
        received_at=received_at,
    )


class WeComCallbacks:
    """Opens one app's callbacks. Its repr shows neither the token nor the key.

    Args:
        connector: the connector name put on events and errors.
        connection: the connection name put on errors.
        corp_id: the receive id the plaintext must end with.
        token: the callback Token configured in WeCom.
        aes_key: the 43-character EncodingAESKey.
        window: seconds a callback's timestamp may be off from our clock, either way.
        clock: Unix seconds (used when `open` is given no `now`).
        random_bytes: source of the ciphertext's random prefix (tests pin it).
    """

    def __init__(
        self, *, connector: str, connection: str, corp_id: str, token: SecretStr,
        aes_key: SecretStr, window: float = 300.0, clock: Callable[[], float] = time.time,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.connector, self.connection, self.corp_id = connector, connection, corp_id
        self.window = window
        self._clock = clock
        self.crypto = CallbackCrypto(token=token, encoding_aes_key=aes_key, receive_id=corp_id,
                                     random_bytes=random_bytes)

    async def open(
        self, *, method: str, query: Mapping[str, str], body: bytes, nonces: NonceStore,
        now: float | None = None,
    ) -> tuple[InboundEvent | None, WebhookReply]:
        """Verify, check freshness and replay, decrypt and parse one callback.

        Raises:
            CallbackSignatureError: a query field is missing or the signature does not match.
            StaleCallbackError: the timestamp is off by more than `window`;
                `ReplayedCallbackError`: the nonce was used within the window.
            CallbackCryptoError: the body is not WeCom's XML, or the ciphertext does not
                decrypt for this corp.
        """
        method = method.upper()
        if method not in ("GET", "POST"):
            return None, WebhookReply.empty(status_code=405)
        current = self._clock() if now is None else now
        try:
            signature, timestamp, nonce = (self._field(query, name) for name in _QUERY)
            check_fresh(timestamp, now=current, window=self.window)
            encrypt = self._field(query, "echostr") if method == "GET" else self._envelope(body)
            self.crypto.verify(signature, timestamp, nonce, encrypt)
            await check_not_replayed(nonces, f"wecom:{self.corp_id}:{timestamp}:{nonce}",
                                     ttl=2 * self.window)
            plain = self.crypto.decrypt(encrypt)
            if method == "GET":
                # Exactly the decrypted bytes: no quotes, no BOM, no trailing newline.
                return None, WebhookReply(200, plain, "text/plain")
            fields = self._fields(plain)
        except ConnectorError as exc:
            exc.connector = exc.connector or self.connector
            exc.connection = exc.connection or self.connection
            raise
        received_at = datetime.fromtimestamp(current, UTC)
        return event_of(self.connector, fields, received_at=received_at), WebhookReply.empty()

    def passive_reply(
        self, message: str, *, timestamp: str | None = None, nonce: str | None = None
    ) -> WebhookReply:
        """An encrypted passive reply (``<xml><Encrypt>..<MsgSignature>..``) carrying
        `message` (the reply's plain XML), signed over its own timestamp and nonce."""
        timestamp = timestamp or str(int(self._clock()))
        nonce = nonce or str(secrets.randbelow(10**10))
        encrypt = self.crypto.encrypt(message)
        signature = self.crypto.signature(timestamp, nonce, encrypt)
        body = _REPLY.format(encrypt=encrypt, signature=signature, timestamp=timestamp,
                             nonce=nonce)
        return WebhookReply(200, body.encode("utf-8"), "application/xml")

    @staticmethod
    def _field(query: Mapping[str, str], name: str) -> str:
        value = query.get(name)
        if not value:
            raise CallbackSignatureError(f"the callback has no {name}",
                                         operation="callback.verify")
        return value

    @staticmethod
    def _envelope(body: bytes) -> str:
        try:
            encrypt = parse_fields(body).get("Encrypt")
        except UnsafeXmlError as exc:
            raise CallbackCryptoError(f"the callback body is refused: {exc}",
                                      operation="callback.verify") from None
        if not isinstance(encrypt, str) or not encrypt:
            raise CallbackCryptoError("the callback body has no Encrypt field",
                                      operation="callback.verify")
        return encrypt

    @staticmethod
    def _fields(plain: bytes) -> dict[str, Any]:
        try:
            return parse_fields(plain)
        except UnsafeXmlError as exc:
            raise CallbackCryptoError(f"the decrypted callback is refused: {exc}",
                                      operation="callback.decrypt") from None

    def __repr__(self) -> str:
        return f"WeComCallbacks(corp_id={self.corp_id!r}, token=***, aes_key=***)"
