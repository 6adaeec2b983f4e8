"""The app bot's messages in HTTP mode (signed plaintext) and inside an encrypted push: sent
by the sandbox's BotMessenger and EventPusher, or signed here from the protocol notes' recipe
and test vector D, and opened by the connector."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from connectors.dingtalk._bot_messages import bot_sign
from connectors.dingtalk.connector import DingTalkConnector
from connectors.dingtalk.sandbox import BotMessenger, EventPusher
from connectors.dingtalk.sandbox.crypto import PushCipher
from connectors.sdk import RejectedError
from connectors.sdk.crypto import (
    CallbackCryptoError,
    CallbackSignatureError,
    MemoryNonceStore,
    StaleCallbackError,
)
from connectors.sdk.messaging import InboundEvent, WebhookReply

APP_SECRET = "app-secret-3f0e-bot"
CONFIG = {"app_key": "dingappkey01", "app_secret": APP_SECRET, "agent_id": 1,
          "callback_token": "cb-token-77d1",
          "callback_aes_key": "p9N2z1B7eirZ9VgCMFJk3MjI25okmZR1ao0htYLCLRs"}
NOW = 1_700_000_000.0
VECTOR_D = ("SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd",
            "1700000000000", "8SZas7RY4E7wuOlgLfjLwHSKZpyUEdXdLvFYSDZiiFw=")


def doc_sign(secret: str, timestamp: str) -> str:
    """The notes' recipe, written here: Base64(HMAC-SHA256(secret, timestamp + "\\n" +
    secret)) — not the connector's code, nor the sandbox's."""
    mac = hmac.new(secret.encode(), (timestamp + "\n" + secret).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def connector(**overrides: Any) -> DingTalkConnector:
    return DingTalkConnector.from_dict(CONFIG | overrides, connection="dt",
                                       clock=lambda: NOW)


def bot(secret: str = APP_SECRET, *, owner_key: str = CONFIG["app_key"]) -> BotMessenger:
    cipher = PushCipher(CONFIG["callback_token"], CONFIG["callback_aes_key"], owner_key)
    return BotMessenger(app_secret=secret, robot_code=CONFIG["app_key"], clock=lambda: NOW,
                        cipher=cipher)


async def open_bot(dingtalk: DingTalkConnector, message: dict[str, Any], headers: dict[str, str],
                   *, method: str = "POST", now: float | None = None
                   ) -> tuple[InboundEvent | None, WebhookReply]:
    return await dingtalk.open_webhook(
        method=method, query={}, body=json.dumps(message, ensure_ascii=False).encode(),
        nonces=MemoryNonceStore(), now=now, headers=headers)


def test_doc_sign__reproduces_vector_d() -> None:
    secret, timestamp, expected = VECTOR_D
    assert doc_sign(secret, timestamp) == expected
    assert bot_sign(secret, timestamp) == expected
    assert BotMessenger(app_secret=secret, robot_code="r").headers(
        timestamp=timestamp)["sign"] == expected


async def test_open_webhook__a_signed_single_chat_message_is_a_bot_message() -> None:
    message = bot().message(sender="user001", text=" 我的退款还没到账 ", nick="张三")
    event, reply = await open_bot(connector(), message, bot().headers())
    assert event is not None
    assert (event.event_type, event.event_id, event.sender, event.text) == (
        "bot_message", message["msgId"], "user001", "我的退款还没到账")
    assert event.payload["conversationType"] == "1"
    assert event.payload["senderNick"] == "张三"
    assert (reply.status_code, reply.body) == (200, b"")  # a body would be posted as a reply


async def test_open_webhook__independently_signed_headers_are_accepted() -> None:
    stamp = str(int(NOW * 1000) - 59 * 60 * 1000)  # 59 minutes old
    headers = {"Timestamp": stamp, "Sign": doc_sign(APP_SECRET, stamp)}  # any header case
    event, _ = await open_bot(connector(), bot().message(sender="u", text="hi"), headers)
    assert event is not None and event.event_type == "bot_message"


async def test_open_webhook__a_group_message_keeps_its_conversation() -> None:
    message = bot().message(sender="user002", text="@客服 发票开错了", group="售后群")
    event, _ = await open_bot(connector(), message, bot().headers())
    assert event is not None and event.sender == "user002"
    assert (event.payload["conversationType"], event.payload["conversationTitle"]) == (
        "2", "售后群")


async def test_open_webhook__someone_outside_the_org_is_known_by_sender_id() -> None:
    message = bot().message(sender="guest", text="在吗", staff=False)
    event, _ = await open_bot(connector(), message, bot().headers())
    assert event is not None and event.sender == message["senderId"] != "guest"


@pytest.mark.parametrize(("msgtype", "content", "text"), [
    ("richText", {"richText": [{"text": "洗碗机"}, {"downloadCode": "x"}, {"text": "漏水"}]},
     "洗碗机漏水"),
    ("audio", {"recognition": "我要退货", "downloadCode": "x"}, "我要退货"),
    ("picture", {"downloadCode": "x"}, "[picture]"),
])
async def test_open_webhook__other_message_types_have_text(
    msgtype: str, content: dict[str, Any], text: str
) -> None:
    message = {**bot().message(sender="u", text=""), "msgtype": msgtype, "content": content}
    del message["text"]
    event, _ = await open_bot(connector(), message, bot().headers())
    assert event is not None and event.text == text


async def test_open_webhook__a_bot_with_another_apps_secret() -> None:
    other = "other-app-secret-91"
    message = bot(other).message(sender="u", text="hi")
    event, _ = await open_bot(connector(bot_app_secret=other), message, bot(other).headers())
    assert event is not None
    with pytest.raises(CallbackSignatureError):
        await open_bot(connector(), message, bot(other).headers())


@pytest.mark.parametrize("headers", [
    {"timestamp": "1700000000000", "sign": "8SZas7RY4E7wuOlgLfjLwHSKZpyUEdXdLvFYSDZiiFw="},
    {"timestamp": "1700000000001", "sign": doc_sign(APP_SECRET, "1700000000000")},
    {"timestamp": "1700000000000", "sign": doc_sign(APP_SECRET, "1700000000000") + "x"},
    {"timestamp": "", "sign": doc_sign(APP_SECRET, "")},
], ids=["another-secret", "another-timestamp", "mangled", "no-timestamp"])
async def test_open_webhook__refuses_a_forged_sign(headers: dict[str, str]) -> None:
    with pytest.raises(CallbackSignatureError) as caught:
        await open_bot(connector(), bot().message(sender="u", text="hi"), headers)
    assert headers["sign"] not in str(caught.value) and APP_SECRET not in str(caught.value)


@pytest.mark.parametrize("offset", [-3601, 3601])
async def test_open_webhook__refuses_a_timestamp_an_hour_off(offset: float) -> None:
    message = bot().message(sender="u", text="hi")
    headers = bot().headers()
    with pytest.raises(StaleCallbackError):
        await open_bot(connector(), message, headers, now=NOW + offset)
    event, _ = await open_bot(connector(), message, headers, now=NOW + offset * 0.99)
    assert event is not None


async def test_open_webhook__the_window_is_configurable() -> None:
    with pytest.raises(StaleCallbackError):
        await open_bot(connector(bot_window=60), bot().message(sender="u", text="hi"),
                       bot().headers(), now=NOW + 61)


@pytest.mark.parametrize("body", [b"not json", b"[]", json.dumps({"msgtype": "text"}).encode(),
                                  json.dumps({"EventType": "x", "msgId": "m", "msgtype": "text",
                                              "conversationId": "c"}).encode()])
async def test_open_webhook__a_signed_body_that_is_no_message_is_refused(body: bytes) -> None:
    with pytest.raises(CallbackCryptoError) as caught:
        await connector().open_webhook(method="POST", query={}, body=body,
                                       nonces=MemoryNonceStore(), headers=bot().headers())
    assert not isinstance(caught.value, CallbackSignatureError)


async def test_open_webhook__only_post() -> None:
    with pytest.raises(RejectedError):
        await open_bot(connector(), bot().message(sender="u", text="hi"), bot().headers(),
                       method="PUT")


async def test_open_webhook__a_connection_without_push_keys_still_takes_bot_messages() -> None:
    dingtalk = connector(callback_token=None, callback_aes_key=None)
    event, _ = await open_bot(dingtalk, bot().message(sender="u", text="hi"), bot().headers())
    assert event is not None


async def test_open_webhook__a_push_with_a_sign_header_is_still_a_push() -> None:
    pusher = EventPusher(token=CONFIG["callback_token"], aes_key=CONFIG["callback_aes_key"],
                         owner_key=CONFIG["app_key"], clock=time.time)
    query, body = pusher.build({"EventType": "device_alarm", "deviceId": "D"})
    event, reply = await connector().open_webhook(
        method="POST", query=query, body=body, nonces=MemoryNonceStore(), now=time.time(),
        headers={"sign": "whatever", "timestamp": "1"})
    assert event is not None and event.event_type == "device_alarm"
    assert json.loads(reply.body).keys() == {"msg_signature", "timeStamp", "nonce", "encrypt"}


async def test_open_webhook__a_bot_message_inside_a_push_is_the_same_event() -> None:
    """The same message pushed encrypted (no EventType of its own) is a bot_message with the
    same id, so the hub keeps one of the two."""
    message = bot().message(sender="user003", text="快递没到", group="客户群")
    pusher = EventPusher(token=CONFIG["callback_token"], aes_key=CONFIG["callback_aes_key"],
                         owner_key=CONFIG["app_key"], clock=lambda: NOW)
    query, body = pusher.build(message)
    pushed, reply = await connector().open_webhook(method="POST", query=query, body=body,
                                                   nonces=MemoryNonceStore(), now=NOW)
    posted, _ = await open_bot(connector(), message, bot().headers())
    assert pushed is not None and posted is not None
    assert (pushed.event_type, pushed.event_id, pushed.sender, pushed.text) == (
        posted.event_type, posted.event_id, posted.sender, posted.text)
    assert pusher.open_reply(reply.body) == "success"


async def test_open_webhook__an_encrypted_body_is_opened_with_the_callback_keys() -> None:
    message = bot().message(sender="user004", text="电视没信号")
    body = bot().body(message, encrypt=True)
    assert message["msgId"].encode() not in body
    event, reply = await connector().open_webhook(
        method="POST", query={}, body=body, nonces=MemoryNonceStore(), headers=bot().headers())
    assert event is not None
    assert (event.event_type, event.event_id, event.text) == (
        "bot_message", message["msgId"], "电视没信号")
    assert (reply.status_code, reply.body) == (200, b"")


@pytest.mark.parametrize(("dingtalk", "sealed_for"), [
    (connector(callback_token=None, callback_aes_key=None), CONFIG["app_key"]),
    (connector(), "another-owner-key"),
], ids=["no-callback-keys", "another-owner-key"])
async def test_open_webhook__an_encrypted_body_it_cannot_open_is_refused(
    dingtalk: DingTalkConnector, sealed_for: str
) -> None:
    body = bot(owner_key=sealed_for).body(bot().message(sender="u", text="hi"), encrypt=True)
    with pytest.raises(CallbackCryptoError) as caught:
        await dingtalk.open_webhook(method="POST", query={}, body=body,
                                    nonces=MemoryNonceStore(), headers=bot().headers())
    assert not isinstance(caught.value, CallbackSignatureError)


def test_bot_messenger__shows_no_secret() -> None:
    assert APP_SECRET not in repr(bot())
    assert APP_SECRET not in repr(connector()._bot_receiver())
