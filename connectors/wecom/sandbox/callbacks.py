"""Callbacks as WeCom pushes them — encrypted, signed — for tests and demos of a receiver.

    builder = CallbackBuilder(token="HubToken2024", encoding_aes_key=KEY,
                              corp_id="ww1234567890abcdef", agent_id=1000002)
    check = builder.verification()                          # GET: the URL check
    response = builder.deliver("http://127.0.0.1:8000/webhooks/wecom", check)
    assert response.content == check.plaintext.encode()     # the echostr, decrypted
    builder.deliver(url, builder.text(sender="zhangsan", content="退款还没到账"))
    builder.deliver(url, builder.event(sender="zhangsan", event="device_alarm",
                                       fields={"DeviceId": "PUMP-7", "Level": "critical"}))
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from connectors.sdk.crypto import CallbackCrypto

__all__ = ["CallbackBuilder", "SignedCallback", "xml_fields"]


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def xml_fields(fields: Mapping[str, str | int]) -> str:
    """``<xml>`` with one element per field: numbers bare, text in CDATA (as WeCom writes)."""
    parts = [f"<{name}>{value if isinstance(value, int) else _cdata(str(value))}</{name}>"
             for name, value in fields.items()]
    return "<xml>" + "".join(parts) + "</xml>"


@dataclass(frozen=True, slots=True)
class SignedCallback:
    """One callback request: method, query (signature, timestamp, nonce...) and body.

    Attributes:
        method: "GET" for the URL verification, "POST" for messages and events.
        query: the query parameters, not yet URL-encoded.
        body: the POST body (empty for GET).
        plaintext: what is inside: the echostr (GET; the expected reply) or the inner XML.
    """

    method: Literal["GET", "POST"]
    query: dict[str, str]
    body: bytes
    plaintext: str

    def url(self, target: str) -> str:
        """`target` with the query appended (URL-encoded once, as WeCom does)."""
        return target + ("&" if "?" in target else "?") + urlencode(self.query)


class CallbackBuilder:
    """Builds the callbacks WeCom sends to one app's callback URL.

    Args:
        token: the app's callback Token.
        encoding_aes_key: its 43-character EncodingAESKey.
        corp_id: the corp id (the receive id inside every ciphertext).
        agent_id: the app's agent id.
        clock: Unix seconds, for timestamps and CreateTime.
        random_bytes: source of the ciphertext's random prefix.
    """

    def __init__(
        self, *, token: SecretStr | str, encoding_aes_key: SecretStr | str, corp_id: str,
        agent_id: int, clock: Callable[[], float] = time.time,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.corp_id, self.agent_id = corp_id, agent_id
        self._clock = clock
        self._crypto = CallbackCrypto(token=token, encoding_aes_key=encoding_aes_key,
                                      receive_id=corp_id, random_bytes=random_bytes)

    def verification(self, *, echo: str | None = None, timestamp: int | None = None,
                     nonce: str | None = None) -> SignedCallback:
        """The GET WeCom sends when an admin saves the callback URL."""
        echo = echo or str(secrets.randbelow(10**18))
        encrypt = self._crypto.encrypt(echo)
        query = self._signed(encrypt, timestamp, nonce)
        return SignedCallback("GET", query | {"echostr": encrypt}, b"", echo)

    def text(self, *, sender: str, content: str, msg_id: int | None = None,
             create_time: int | None = None, timestamp: int | None = None,
             nonce: str | None = None) -> SignedCallback:
        """A text message from member `sender` to the app."""
        created = create_time if create_time is not None else int(self._clock())
        return self.message({
            "ToUserName": self.corp_id, "FromUserName": sender, "CreateTime": created,
            "MsgType": "text", "Content": content,
            "MsgId": msg_id if msg_id is not None else secrets.randbelow(10**19),
            "AgentID": self.agent_id,
        }, timestamp=timestamp, nonce=nonce)

    def event(self, *, sender: str, event: str, fields: Mapping[str, str | int] | None = None,
              create_time: int | None = None, timestamp: int | None = None,
              nonce: str | None = None) -> SignedCallback:
        """An event (``MsgType`` event, ``Event`` `event`) with extra `fields`."""
        created = create_time if create_time is not None else int(self._clock())
        return self.message({
            "ToUserName": self.corp_id, "FromUserName": sender, "CreateTime": created,
            "MsgType": "event", "Event": event, "AgentID": self.agent_id, **(fields or {}),
        }, timestamp=timestamp, nonce=nonce)

    def kf_event(self, *, open_kfid: str, token: str, create_time: int | None = None,
                 timestamp: int | None = None, nonce: str | None = None) -> SignedCallback:
        """The 微信客服 push: ``kf_msg_or_event`` with the sync `Token` and `OpenKfId`, no
        sender and no message (the receiver calls sync_msg)."""
        created = create_time if create_time is not None else int(self._clock())
        return self.message({
            "ToUserName": self.corp_id, "CreateTime": created, "MsgType": "event",
            "Event": "kf_msg_or_event", "Token": token, "OpenKfId": open_kfid,
        }, timestamp=timestamp, nonce=nonce)

    def message(self, fields: Mapping[str, str | int], *, timestamp: int | None = None,
                nonce: str | None = None) -> SignedCallback:
        """A POST carrying the inner XML of `fields`."""
        return self.raw(xml_fields(fields), timestamp=timestamp, nonce=nonce)

    def raw(self, inner: str, *, timestamp: int | None = None,
            nonce: str | None = None) -> SignedCallback:
        """A POST carrying `inner` as is (for odd or hostile payloads in tests)."""
        encrypt = self._crypto.encrypt(inner)
        outer = xml_fields({"ToUserName": self.corp_id, "AgentID": str(self.agent_id),
                            "Encrypt": encrypt})
        return SignedCallback("POST", self._signed(encrypt, timestamp, nonce),
                              outer.encode("utf-8"), inner)

    def deliver(self, target: str, callback: SignedCallback, *,
                timeout: float = 5.0) -> httpx.Response:
        """Send `callback` to the receiver at `target`, as WeCom would."""
        with httpx.Client(timeout=timeout) as client:
            return client.request(callback.method, callback.url(target),
                                  content=callback.body or None,
                                  headers={"Content-Type": "text/xml"} if callback.body else {})

    async def adeliver(self, target: str, callback: SignedCallback, *,
                       timeout: float = 5.0) -> httpx.Response:
        """`deliver` for async callers."""
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await client.request(
                callback.method, callback.url(target), content=callback.body or None,
                headers={"Content-Type": "text/xml"} if callback.body else {})

    def _signed(self, encrypt: str, timestamp: int | None, nonce: str | None) -> dict[str, str]:
        stamp = str(timestamp if timestamp is not None else int(self._clock()))
        nonce = nonce or str(secrets.randbelow(10**10))
        return {"msg_signature": self._crypto.signature(stamp, nonce, encrypt),
                "timestamp": stamp, "nonce": nonce}

    def __repr__(self) -> str:
        return f"CallbackBuilder(corp_id={self.corp_id!r}, token=***, encoding_aes_key=***)"
