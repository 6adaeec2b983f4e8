"""Inbound callbacks: valid ones parsed, forged, tampered, stale and replayed ones refused."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import httpx
import pytest

from connectors.sdk import ConfigError
from connectors.sdk.crypto import (
    CallbackCryptoError,
    CallbackSignatureError,
    MemoryNonceStore,
    ReplayedCallbackError,
    StaleCallbackError,
)
from connectors.wecom.connector import WeComConnector
from connectors.wecom.sandbox import CallbackBuilder, SignedCallback

from .conftest import AES_KEY, CALLBACK_TOKEN, CORP_ID, Receiver, WeComEnv

NOW = 1_750_000_000.0


def builder(*, token: str = CALLBACK_TOKEN, key: str = AES_KEY,
            corp: str = CORP_ID) -> CallbackBuilder:
    return CallbackBuilder(token=token, encoding_aes_key=key, corp_id=corp, agent_id=1000002,
                           clock=lambda: NOW)


def offline(**overrides: Any) -> WeComConnector:
    """A connector that only opens callbacks (no server needed)."""
    return WeComConnector.from_dict({
        "base_url": "http://127.0.0.1:9", "corp_id": CORP_ID, "corp_secret": "unused-secret",
        "agent_id": 1000002, "callback_token": CALLBACK_TOKEN, "callback_aes_key": AES_KEY,
        **overrides})


async def opened(callback: SignedCallback, *, now: float = NOW,
                 nonces: MemoryNonceStore | None = None) -> Any:
    async with offline() as connector:
        return await connector.open_webhook(
            method=callback.method, query=callback.query, body=callback.body,
            nonces=MemoryNonceStore() if nonces is None else nonces, now=now)


def test_callback__text_message_over_http_becomes_an_event(
    wecom: WeComEnv, receiver: Receiver
) -> None:
    callback = wecom.callbacks.text(sender="zhangsan", content="我的退款还没到账", msg_id=42)
    response = wecom.callbacks.deliver(receiver.url, callback)
    assert (response.status_code, response.content) == (200, b"")
    [event] = receiver.events
    assert (event.connector, event.event_type, event.event_id, event.sender, event.text) == (
        "wecom", "text", "42", "zhangsan", "我的退款还没到账")
    assert event.payload["AgentID"] == "1000002"


def test_callback__url_check_over_http_echoes_the_plaintext(
    wecom: WeComEnv, receiver: Receiver
) -> None:
    check = wecom.callbacks.verification(echo="3141592653589793")
    response = wecom.callbacks.deliver(receiver.url, check)
    assert response.status_code == 200
    assert response.content == b"3141592653589793"


def test_callback__pushed_by_the_sandbox_control_route(
    wecom: WeComEnv, receiver: Receiver
) -> None:
    answer = httpx.post(f"{wecom.url}/_sandbox/callbacks", json={
        "url": receiver.url, "kind": "event", "sender": "lisi", "event": "device_alarm",
        "fields": {"DeviceId": "PUMP-7"}}).json()
    assert answer["status"] == 200
    check = httpx.post(f"{wecom.url}/_sandbox/callbacks",
                       json={"url": receiver.url, "kind": "verify"}).json()
    assert check["body"] == check["expected_body"] != ""
    assert [e.event_type for e in receiver.events] == ["event.device_alarm"]


async def test_open_webhook__device_alarm_event_keyed_by_sender_and_time() -> None:
    callback = builder().event(sender="wangwu", event="device_alarm", create_time=1749999990,
                               fields={"DeviceId": "PUMP-7", "Level": "critical"})
    event, reply = await opened(callback)
    assert event.event_type == "event.device_alarm"
    assert event.event_id == "wangwu:1749999990"
    assert event.text is None
    assert event.payload["DeviceId"] == "PUMP-7"
    assert event.received_at.timestamp() == NOW
    assert (reply.status_code, reply.body) == (200, b"")


@pytest.mark.parametrize(("fields", "event_type", "event_id"), [
    ({"MsgType": "image", "PicUrl": "https://x/p.jpg", "MediaId": "m1", "MsgId": 9},
     "image", "9"),
    ({"MsgType": "event", "Event": "some_future_event"}, "event.some_future_event",
     "sunqi:1749999999"),
    ({"MsgType": "hologram"}, "hologram", "sunqi:1749999999"),
    ({}, "unknown", "sunqi:1749999999"),
])
async def test_open_webhook__unknown_and_other_types_come_back_with_their_type(
    fields: dict[str, Any], event_type: str, event_id: str
) -> None:
    base: dict[str, str | int] = {"ToUserName": CORP_ID, "FromUserName": "sunqi",
                                  "CreateTime": 1749999999}
    event, _ = await opened(builder().message(base | fields))
    assert (event.event_type, event.event_id) == (event_type, event_id)


def _forge_signature(c: SignedCallback) -> SignedCallback:
    return replace(c, query=c.query | {"msg_signature": "0" * 40})


def _tamper_ciphertext(c: SignedCallback) -> SignedCallback:
    return replace(c, body=c.body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA"))


def _drop(name: str) -> Any:
    return lambda c: replace(c, query={k: v for k, v in c.query.items() if k != name})


@pytest.mark.parametrize(("make", "error"), [
    (lambda: _forge_signature(builder().text(sender="a", content="x")), CallbackSignatureError),
    (lambda: _tamper_ciphertext(builder().text(sender="a", content="x")),
     CallbackSignatureError),
    (lambda: builder(token="AnotherToken9").text(sender="a", content="x"),
     CallbackSignatureError),
    (lambda: _drop("msg_signature")(builder().text(sender="a", content="x")),
     CallbackSignatureError),
    (lambda: _drop("nonce")(builder().text(sender="a", content="x")), CallbackSignatureError),
    (lambda: _drop("echostr")(builder().verification()), CallbackSignatureError),
    (lambda: builder(corp="wwanothercorp0000").text(sender="a", content="x"),
     CallbackCryptoError),
    (lambda: builder(key="A" * 43).text(sender="a", content="x"), CallbackCryptoError),
    (lambda: builder().text(sender="a", content="x", timestamp=int(NOW) - 301),
     StaleCallbackError),
    (lambda: builder().text(sender="a", content="x", timestamp=int(NOW) + 301),
     StaleCallbackError),
    (lambda: replace(builder().text(sender="a", content="x"), body=b"<xml><Nope/></xml>"),
     CallbackCryptoError),
    (lambda: replace(builder().text(sender="a", content="x"), body=b"not xml"),
     CallbackCryptoError),
], ids=["forged-signature", "tampered-ciphertext", "other-token", "no-signature", "no-nonce",
        "no-echostr", "other-corp", "other-aes-key", "stale", "from-the-future", "no-encrypt",
        "not-xml"])
async def test_open_webhook__refuses_untrustworthy_callbacks(
    make: Any, error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        await opened(make())
    assert caught.value.connection == "wecom"  # type: ignore[attr-defined]


async def test_open_webhook__signed_callback_with_a_doctype_is_refused() -> None:
    hostile = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY lol "lol">]>'
               "<xml><MsgType>text</MsgType><Content>&lol;</Content></xml>")
    with pytest.raises(CallbackCryptoError, match="DOCTYPE"):
        await opened(builder().raw(hostile))
    outer = builder().text(sender="a", content="x")
    doctype = b'<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + outer.body
    with pytest.raises(CallbackCryptoError, match="DOCTYPE"):
        await opened(replace(outer, body=doctype))


async def test_open_webhook__replayed_callback_is_refused_second_time() -> None:
    nonces = MemoryNonceStore()
    callback = builder().text(sender="zhangsan", content="once")
    event, _ = await opened(callback, nonces=nonces)
    assert event is not None
    with pytest.raises(ReplayedCallbackError):
        await opened(callback, nonces=nonces, now=NOW + 5)


async def test_open_webhook__forgery_does_not_burn_the_nonce() -> None:
    nonces = MemoryNonceStore()
    genuine = builder().text(sender="zhangsan", content="real", nonce="777")
    with pytest.raises(CallbackSignatureError):
        await opened(_forge_signature(genuine), nonces=nonces)
    event, _ = await opened(genuine, nonces=nonces)
    assert event is not None and event.text == "real"


def test_callback__forged_and_replayed_over_http_get_403(
    wecom: WeComEnv, receiver: Receiver
) -> None:
    callback = wecom.callbacks.text(sender="zhangsan", content="hi")
    assert wecom.callbacks.deliver(receiver.url, callback).status_code == 200
    assert wecom.callbacks.deliver(receiver.url, callback).status_code == 403
    forged = wecom.callbacks.deliver(receiver.url, _forge_signature(
        wecom.callbacks.text(sender="zhangsan", content="hi")))
    assert forged.status_code == 403
    assert receiver.refused == ["ReplayedCallbackError", "CallbackSignatureError"]
    assert len(receiver.events) == 1


async def test_open_webhook__other_methods_get_405() -> None:
    async with offline() as connector:
        event, reply = await connector.open_webhook(
            method="PUT", query={}, body=b"", nonces=MemoryNonceStore())
    assert (event, reply.status_code) == (None, 405)


async def test_open_webhook__without_callback_config_is_a_config_error() -> None:
    async with offline(callback_token=None, callback_aes_key=None) as connector:
        with pytest.raises(ConfigError, match="callback_token"):
            await connector.open_webhook(method="GET", query={}, body=b"",
                                         nonces=MemoryNonceStore(), now=time.time())
