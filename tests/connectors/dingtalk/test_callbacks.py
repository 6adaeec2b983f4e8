"""Encrypted event pushes: pushed by the sandbox's own crypto, opened by the connector."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from connectors.dingtalk.connector import DingTalkConnector
from connectors.dingtalk.sandbox import EventPusher
from connectors.sdk import ConfigError, RejectedError
from connectors.sdk.crypto import (
    CallbackCryptoError,
    CallbackSignatureError,
    MemoryNonceStore,
    ReplayedCallbackError,
    StaleCallbackError,
)
from connectors.sdk.messaging import WebhookReceiver
from connectors.sdk.sandbox import serve

CONFIG = {"app_key": "dingappkey01", "app_secret": "app-secret-3f0e", "agent_id": 1,
          "callback_token": "cb-token-77d1",
          "callback_aes_key": "p9N2z1B7eirZ9VgCMFJk3MjI25okmZR1ao0htYLCLRs"}
BPMS = {"EventType": "bpms_task_change", "processInstanceId": "pi-1", "staffId": "user001",
        "type": "finish", "createTime": 1700000000000}
ALARM = {"EventType": "device_alarm", "msgId": "alarm-42", "deviceId": "D-7",
         "text": {"content": "设备告警：温度过高"}, "senderStaffId": "user002"}


@pytest.fixture
def connector() -> DingTalkConnector:
    return DingTalkConnector.from_dict(CONFIG, connection="dt")


@pytest.fixture
def pusher() -> EventPusher:
    return EventPusher(token=CONFIG["callback_token"], aes_key=CONFIG["callback_aes_key"],
                       owner_key=CONFIG["app_key"])


async def open_push(connector: DingTalkConnector, query: dict[str, str], body: bytes,
                    nonces: MemoryNonceStore | None = None, **options: Any) -> Any:
    return await connector.open_webhook(method="POST", query=query, body=body,
                                        nonces=nonces or MemoryNonceStore(), **options)


@pytest.mark.parametrize("legacy_names", [False, True], ids=["msg_signature", "signature"])
@pytest.mark.parametrize(("payload", "event_type", "sender", "text", "event_id"), [
    (BPMS, "bpms_task_change", "user001", None, None),
    (ALARM, "device_alarm", "user002", "设备告警：温度过高", "alarm-42"),
    ({"EventType": "customer_message", "userId": "u9", "content": "我要退款"},
     "customer_message", "u9", "我要退款", None),
    ({"Random": "no type at all"}, "unknown", None, None, None),
])
async def test_open_webhook__parses_a_valid_push(
    connector: DingTalkConnector, pusher: EventPusher, legacy_names: bool,
    payload: dict[str, Any], event_type: str, sender: str | None, text: str | None,
    event_id: str | None,
) -> None:
    assert isinstance(connector, WebhookReceiver)
    query, body = pusher.build(payload, legacy_names=legacy_names)
    event, reply = await open_push(connector, query, body)
    assert (event.event_type, event.sender, event.text) == (event_type, sender, text)
    assert event.connector == "dingtalk" and dict(event.payload) == payload
    assert event.event_id == event_id if event_id else event.event_id.startswith(event_type)
    assert reply.status_code == 200 and reply.media_type == "application/json"
    assert pusher.open_reply(reply.body) == "success"  # the sandbox's own crypto agrees


async def test_open_webhook__the_same_event_has_the_same_id(
    connector: DingTalkConnector, pusher: EventPusher
) -> None:
    first, _ = await open_push(connector, *pusher.build(BPMS))
    again, _ = await open_push(connector, *pusher.build(BPMS))  # a new nonce: not a replay
    other, _ = await open_push(connector, *pusher.build({**BPMS, "type": "start"}))
    assert first.event_id == again.event_id != other.event_id


async def test_open_webhook__check_url_gives_no_event_and_the_success_reply(
    connector: DingTalkConnector, pusher: EventPusher
) -> None:
    event, reply = await open_push(connector, *pusher.build({"EventType": "check_url"}))
    assert event is None
    assert set(json.loads(reply.body)) == {"msg_signature", "timeStamp", "nonce", "encrypt"}
    assert pusher.open_reply(reply.body) == "success"


async def test_open_webhook__opens_vector_c_of_the_protocol_notes() -> None:
    config = {**CONFIG, "callback_token": "HubDingToken",
              "callback_aes_key": "p9N2z1B7eirZ9VgCMFJk3MjI25okmZR1ao0htYLCLRs",
              "callback_owner_key": "dingcorp0123456789"}
    query = {"msg_signature": "52479256cbcda83c88687d57a153c794d853b869",
             "timestamp": "1700000000000", "nonce": "hubNonce"}
    body = json.dumps({"encrypt": "uNiTms+JKL3KeNdesxXoaYWioPHBTTTC3udp1CZW4v7iSh2cOcXXr3hqgHEv"
                                  "4nRdNMBpeikLh/X9Xc2sV7ptFg=="}).encode()
    async with DingTalkConnector.from_dict(config) as dingtalk:
        event, reply = await open_push(dingtalk, query, body, now=1700000000.0)
    assert event is None and reply.status_code == 200


async def test_open_webhook__rejects_a_forged_signature(
    connector: DingTalkConnector, pusher: EventPusher
) -> None:
    forged = "0" * 40
    query, body = pusher.build(ALARM, signature=forged)
    with pytest.raises(CallbackSignatureError) as caught:
        await open_push(connector, query, body)
    assert "connection 'dt'" in str(caught.value) and forged not in str(caught.value)


async def test_open_webhook__a_forged_push_does_not_spend_the_nonce(
    connector: DingTalkConnector, pusher: EventPusher
) -> None:
    nonces = MemoryNonceStore()
    with pytest.raises(CallbackSignatureError):
        await open_push(connector, *pusher.build(ALARM, nonce="n1", signature="f" * 40),
                        nonces=nonces)
    event, _ = await open_push(connector, *pusher.build(ALARM, nonce="n1"), nonces=nonces)
    assert event is not None


async def test_open_webhook__rejects_a_replay(
    connector: DingTalkConnector, pusher: EventPusher
) -> None:
    nonces = MemoryNonceStore()
    query, body = pusher.build(ALARM)
    await open_push(connector, query, body, nonces=nonces)
    with pytest.raises(ReplayedCallbackError):
        await open_push(connector, query, body, nonces=nonces)


@pytest.mark.parametrize("offset", [-301.0, 301.0, 7200.0])
async def test_open_webhook__rejects_a_stale_timestamp(
    connector: DingTalkConnector, pusher: EventPusher, offset: float
) -> None:
    stamp = str(int((time.time() + offset) * 1000))
    with pytest.raises(StaleCallbackError):
        await open_push(connector, *pusher.build(ALARM, timestamp=stamp))


async def test_open_webhook__the_window_is_configurable(pusher: EventPusher) -> None:
    stamp = str(int((time.time() - 600) * 1000))
    async with DingTalkConnector.from_dict({**CONFIG, "callback_window": 900}) as dingtalk:
        event, _ = await open_push(dingtalk, *pusher.build(ALARM, timestamp=stamp))
    assert event is not None


async def test_open_webhook__rejects_a_push_for_another_owner_key(pusher: EventPusher) -> None:
    config = {**CONFIG, "callback_owner_key": "dingcorpOTHER"}
    async with DingTalkConnector.from_dict(config) as dingtalk:
        with pytest.raises(CallbackCryptoError, match="another receive id"):
            await open_push(dingtalk, *pusher.build(ALARM))


async def test_open_webhook__the_owner_key_can_be_the_corp_id() -> None:
    corp = EventPusher(token=CONFIG["callback_token"], aes_key=CONFIG["callback_aes_key"],
                       owner_key="dingcorp42")
    async with DingTalkConnector.from_dict({**CONFIG, "callback_owner_key": "dingcorp42"}) as dt:
        event, _ = await open_push(dt, *corp.build(ALARM))
    assert event is not None


@pytest.mark.parametrize(("query", "body", "error"), [
    ({"timestamp": "1", "nonce": "n"}, b'{"encrypt":"x"}', CallbackSignatureError),
    ({"msg_signature": "s", "nonce": "n"}, b'{"encrypt":"x"}', CallbackSignatureError),
    ({"msg_signature": "s", "timestamp": "1"}, b'{"encrypt":"x"}', CallbackSignatureError),
    ({"msg_signature": "s", "timestamp": "1", "nonce": "n"}, b"not json", CallbackCryptoError),
    ({"msg_signature": "s", "timestamp": "1", "nonce": "n"}, b'{"other":1}', CallbackCryptoError),
    ({"msg_signature": "s", "timestamp": "1", "nonce": "n"}, b"", CallbackCryptoError),
])
async def test_open_webhook__rejects_malformed_pushes(
    connector: DingTalkConnector, query: dict[str, str], body: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await open_push(connector, query, body)


async def test_open_webhook__only_post(connector: DingTalkConnector, pusher: EventPusher) -> None:
    query, body = pusher.build(ALARM)
    with pytest.raises(RejectedError, match="POST"):
        await connector.open_webhook(method="GET", query=query, body=body,
                                     nonces=MemoryNonceStore())


async def test_open_webhook__needs_the_callback_settings(pusher: EventPusher) -> None:
    config = {k: v for k, v in CONFIG.items() if not k.startswith("callback")}
    async with DingTalkConnector.from_dict(config) as dingtalk:
        with pytest.raises(ConfigError, match="callback_token"):
            await open_push(dingtalk, *pusher.build(ALARM))


@pytest.mark.parametrize(("key", "reason"), [("short", "43 characters"), ("!" * 43, "base64")])
async def test_open_webhook__a_bad_aes_key_is_a_config_error(
    pusher: EventPusher, key: str, reason: str
) -> None:
    async with DingTalkConnector.from_dict({**CONFIG, "callback_aes_key": key}) as dingtalk:
        with pytest.raises(ConfigError, match=reason) as caught:
            await open_push(dingtalk, *pusher.build(ALARM))
    assert key not in str(caught.value) and "connection 'dingtalk'" in str(caught.value)


@pytest.fixture
def receiver(connector: DingTalkConnector) -> Iterator[str]:
    """A tiny webhook endpoint on loopback, the way the hub's route will use the connector."""
    app = FastAPI()
    nonces = MemoryNonceStore()
    app.state.events = []

    @app.post("/webhooks/dingtalk")
    async def webhook(request: Request) -> Response:
        event, reply = await connector.open_webhook(
            method="POST", query=dict(request.query_params), body=await request.body(),
            nonces=nonces)
        app.state.events.append(event)
        return Response(reply.body, reply.status_code, media_type=reply.media_type)

    with serve(app) as url:
        yield url


async def test_sandbox_push__reaches_a_receiver_and_reads_its_success(
    start_sandbox: Any, receiver: str
) -> None:
    server = start_sandbox(callback={"token": CONFIG["callback_token"],
                                     "aes_key": CONFIG["callback_aes_key"],
                                     "owner_key": CONFIG["app_key"]})
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{server.url}/_sandbox/push", json={
            "url": f"{receiver}/webhooks/dingtalk", "event": ALARM})
    assert answer.json() == {"status": 200, "reply": "success"}
