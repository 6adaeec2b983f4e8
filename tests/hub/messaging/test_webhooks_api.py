"""`/webhooks/{connection}` over loopback HTTP: callbacks pushed by the sandboxes' own crypto
(WeCom's CallbackBuilder, DingTalk's EventPusher) to the hub API served by uvicorn."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from connectors.dingtalk.sandbox import EventPusher
from connectors.sdk.sandbox import serve
from connectors.wecom.sandbox import CallbackBuilder
from hub.api import create_app
from hub.runtime import Hub
from hub.store.models import AuditRecord, Ticket, WebhookEvent

from .conftest import (
    DT_APP_KEY,
    DT_CALLBACK_TOKEN,
    URGENT_RULE,
    WC_AGENT_ID,
    WC_CALLBACK_TOKEN,
    WC_CORP_ID,
    MessagingHub,
    Sandboxes,
    leaked,
    rows,
)

OTHER_AES_KEY = "AAAAcWtMVGeyU6GDDgoP4urdvPXE7Qa11VC1F6e08tQ"
ALARM = {"EventType": "device_alarm", "msgId": "alarm-1", "deviceId": "PUMP-7",
         "level": "critical", "text": {"content": "设备告警：水泵过热"},
         "senderStaffId": "user002"}


@contextmanager
def api(hub: Hub) -> Iterator[str]:
    """The hub API on a loopback port; yields its base URL."""
    with serve(create_app(hub=hub), lifespan="on") as url:
        yield url


async def eventually(check: Callable[[], bool], *, within: float = 15.0) -> None:
    """Wait for background work (enrichment, notify rules) the API runs after answering."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the background work did not finish")
        await asyncio.sleep(0.05)


def audit(hub: Hub, action: str) -> list[AuditRecord]:
    found: list[AuditRecord] = rows(hub, AuditRecord, AuditRecord.action == action)
    return found


async def push_dingtalk(pusher: EventPusher, url: str, event: dict[str, Any],
                        **options: Any) -> httpx.Response:
    return await pusher.push(f"{url}/webhooks/dingtalk", event, **options)


async def test_wecom__text_message_opens_a_ticket(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(enrich=False)
    with api(hub) as url:
        callback = sandboxes.callbacks.text(sender="lisi", content="我的退款还没到账\n订单 8812",
                                            msg_id=7001)
        response = await sandboxes.callbacks.adeliver(f"{url}/webhooks/wecom", callback)
        assert (response.status_code, response.content) == (200, b"")
        await eventually(lambda: rows(hub, Ticket)[0].enrichment_status != "pending")
    [ticket] = rows(hub, Ticket)
    assert (ticket.subject, ticket.channel, ticket.category, ticket.priority) == (
        "我的退款还没到账", "wecom", "refund", "normal")
    assert (ticket.contact_name, ticket.external_ref) == ("lisi", "wecom:lisi")
    [event] = rows(hub, WebhookEvent)
    assert (event.connection, event.event_id, event.event_type, event.status) == (
        "wecom", "7001", "text", "ticket")
    assert event.ticket_id == ticket.id and event.payload["Content"].startswith("我的退款")
    [accepted] = audit(hub, "webhook.ticket")
    assert accepted.detail is not None and accepted.detail["ticket"] == ticket.id


async def test_dingtalk__customer_message_opens_a_ticket_and_gets_the_encrypted_success(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(enrich=False)
    event = {"EventType": "customer_message", "msgId": "m-1", "userId": "u9",
             "senderNick": "王先生", "content": "发票抬头开错了", "mobile": "+86 138 0000 0009"}
    with api(hub) as url:
        response = await push_dingtalk(sandboxes.pusher, url, event)
        assert response.status_code == 200
        assert sandboxes.pusher.open_reply(response.content) == "success"
    [ticket] = rows(hub, Ticket)
    assert (ticket.subject, ticket.category, ticket.contact_name, ticket.contact_mobile) == (
        "发票抬头开错了", "invoice", "王先生", "13800000009")


async def test_wecom__url_verification_answers_the_echostr(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(enrich=False)
    with api(hub) as url:
        check = sandboxes.callbacks.verification(echo="1618033988749894848")
        response = await sandboxes.callbacks.adeliver(f"{url}/webhooks/wecom", check)
    assert (response.status_code, response.content) == (200, b"1618033988749894848")
    assert [r.action for r in audit(hub, "webhook.verify")] == ["webhook.verify"]
    assert rows(hub, WebhookEvent) == []


@pytest.mark.parametrize("vendor", ["wecom", "dingtalk"])
async def test_device_alarms__of_one_device_update_its_open_ticket(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, vendor: str
) -> None:
    hub = messaging_hub(enrich=False)
    with api(hub) as url:
        for n, level in enumerate(["warning", "critical"]):
            if vendor == "wecom":
                callback = sandboxes.callbacks.event(
                    sender="zhaoliu", event="device_alarm", create_time=1_700_000_000 + n,
                    fields={"DeviceId": "PUMP-7", "Level": level})
                response = await sandboxes.callbacks.adeliver(f"{url}/webhooks/wecom",
                                                              callback)
            else:
                response = await push_dingtalk(sandboxes.pusher, url, {
                    **ALARM, "msgId": f"alarm-{n}", "level": level})
            assert response.status_code == 200
    [ticket] = rows(hub, Ticket)
    assert ticket.category == "device_alarm" and ticket.priority == "urgent"  # raised
    assert ticket.external_ref == f"{vendor}:alarm:PUMP-7"
    assert [e.ticket_id for e in rows(hub, WebhookEvent)] == [ticket.id, ticket.id]
    [update] = audit(hub, "ticket.update")
    assert update.detail is not None and update.detail["fields"] == ["description", "priority"]


def forged(sandboxes: Sandboxes, vendor: str) -> tuple[str, dict[str, str], bytes]:
    if vendor == "wecom":
        builder = CallbackBuilder(token="SomeoneElsesToken1", encoding_aes_key=OTHER_AES_KEY,
                                  corp_id=WC_CORP_ID, agent_id=WC_AGENT_ID)
        callback = builder.text(sender="zhangsan", content="给我退款")
        return "POST", callback.query, callback.body
    query, body = sandboxes.pusher.build(ALARM, signature="0" * 40)
    return "POST", query, body


def undecryptable(sandboxes: Sandboxes, vendor: str) -> tuple[str, dict[str, str], bytes]:
    """Signed with the right token, encrypted with another key: authentic-looking garbage."""
    if vendor == "wecom":
        builder = CallbackBuilder(token=WC_CALLBACK_TOKEN, encoding_aes_key=OTHER_AES_KEY,
                                  corp_id=WC_CORP_ID, agent_id=WC_AGENT_ID)
        callback = builder.text(sender="zhangsan", content="x")
        return "POST", callback.query, callback.body
    pusher = EventPusher(token=DT_CALLBACK_TOKEN, aes_key=OTHER_AES_KEY, owner_key=DT_APP_KEY)
    query, body = pusher.build(ALARM)
    return "POST", query, body


def stale(sandboxes: Sandboxes, vendor: str) -> tuple[str, dict[str, str], bytes]:
    if vendor == "wecom":
        callback = sandboxes.callbacks.text(sender="zhangsan", content="x",
                                            timestamp=int(time.time()) - 3600)
        return "POST", callback.query, callback.body
    query, body = sandboxes.pusher.build(ALARM, timestamp=str(int(time.time() - 3600) * 1000))
    return "POST", query, body


def wrong_method(sandboxes: Sandboxes, vendor: str) -> tuple[str, dict[str, str], bytes]:
    query, _ = sandboxes.pusher.build(ALARM)
    return "GET", query, b""


@pytest.mark.parametrize(("build", "reason", "status"), [
    (forged, "forged", 403), (undecryptable, "undecryptable", 400), (stale, "stale", 403),
], ids=["forged", "undecryptable", "stale"])
@pytest.mark.parametrize("vendor", ["wecom", "dingtalk"])
async def test_refused_callbacks__answer_their_status_and_are_audited(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, vendor: str,
    build: Callable[[Sandboxes, str], tuple[str, dict[str, str], bytes]], reason: str,
    status: int,
) -> None:
    hub = messaging_hub(enrich=False)
    method, query, body = build(sandboxes, vendor)
    with api(hub) as url, httpx.Client(base_url=url) as client:
        response = client.request(method, f"/webhooks/{vendor}", params=query, content=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"].startswith(f"callback refused ({reason})")
    [refusal] = audit(hub, "webhook.reject")
    assert (refusal.actor, refusal.target, refusal.outcome) == (
        f"webhook:{vendor}", f"webhook:{vendor}", reason)
    assert rows(hub, Ticket) == [] and rows(hub, WebhookEvent) == []
    shown = response.text + str(refusal.detail)
    signed = {query.get("msg_signature"),
              json.loads(body or b"{}").get("encrypt") if vendor == "dingtalk" else None}
    assert leaked(shown, sandboxes.secrets() | {value for value in signed if value}) == []


async def test_dingtalk__a_get_is_refused_with_405(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(enrich=False)
    method, query, body = wrong_method(sandboxes, "dingtalk")
    with api(hub) as url, httpx.Client(base_url=url) as client:
        response = client.request(method, "/webhooks/dingtalk", params=query, content=body)
    assert response.status_code == 405
    assert [r.outcome for r in audit(hub, "webhook.reject")] == ["method"]


@pytest.mark.parametrize("vendor", ["wecom", "dingtalk"])
async def test_replayed_callback__is_refused_by_another_process_too(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, vendor: str
) -> None:
    first, second = messaging_hub(enrich=False), messaging_hub(enrich=False)
    if vendor == "wecom":
        callback = sandboxes.callbacks.text(sender="zhangsan", content="退款")
        query, body = callback.query, callback.body
    else:
        query, body = sandboxes.pusher.build({**ALARM, "msgId": "replayed-1"})
    with api(first) as url_1, api(second) as url_2, httpx.Client() as client:
        accepted = client.post(f"{url_1}/webhooks/{vendor}", params=query, content=body)
        replayed = client.post(f"{url_2}/webhooks/{vendor}", params=query, content=body)
    assert accepted.status_code == 200
    assert replayed.status_code == 403
    assert replayed.json()["detail"].startswith("callback refused (replayed)")
    assert [r.outcome for r in audit(first, "webhook.reject")] == ["replayed"]
    assert len(rows(first, Ticket)) == 1


@pytest.mark.parametrize("vendor", ["wecom", "dingtalk"])
async def test_vendor_retry__is_acknowledged_not_processed_twice(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, vendor: str
) -> None:
    hub = messaging_hub(enrich=False)
    with api(hub) as url:
        for _ in range(2):  # the same event, delivered again with a fresh nonce
            if vendor == "wecom":
                callback = sandboxes.callbacks.text(sender="wangwu", content="紧急！漏水了",
                                                    msg_id=9009)
                response = await sandboxes.callbacks.adeliver(f"{url}/webhooks/wecom",
                                                              callback)
            else:
                response = await push_dingtalk(sandboxes.pusher, url, {**ALARM, "msgId": "r"})
                assert sandboxes.pusher.open_reply(response.content) == "success"
            assert response.status_code == 200
    assert len(rows(hub, Ticket)) == 1
    [event] = rows(hub, WebhookEvent)
    assert event.deliveries == 2
    assert len(audit(hub, "webhook.duplicate")) == 1


@pytest.mark.parametrize("vendor", ["wecom", "dingtalk"])
async def test_unknown_event_type__is_audited_and_acknowledged(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, vendor: str
) -> None:
    hub = messaging_hub(enrich=False)
    with api(hub) as url:
        if vendor == "wecom":
            callback = sandboxes.callbacks.event(sender="zhangsan", event="enter_agent")
            response = await sandboxes.callbacks.adeliver(f"{url}/webhooks/wecom", callback)
            assert response.content == b""
        else:
            response = await push_dingtalk(sandboxes.pusher, url, {
                "EventType": "bpms_task_change", "processInstanceId": "p-1"})
            assert sandboxes.pusher.open_reply(response.content) == "success"
    assert response.status_code == 200
    [event] = rows(hub, WebhookEvent)
    assert event.status == "ignored" and event.ticket_id is None
    [ignored] = audit(hub, "webhook.ignored")
    assert ignored.detail is not None and "is not one this webhook handles" in ignored.detail[
        "error"]
    assert rows(hub, Ticket) == []


async def test_an_event_the_mapping_refuses__is_stored_with_the_error_and_acknowledged(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(enrich=False)
    with api(hub) as url:
        callback = sandboxes.callbacks.text(sender="zhangsan", content="   ")
        response = await sandboxes.callbacks.adeliver(f"{url}/webhooks/wecom", callback)
    assert response.status_code == 200
    [event] = rows(hub, WebhookEvent)
    assert event.status == "failed" and "subject" in (event.error or "")
    assert [r.outcome for r in audit(hub, "webhook.failed")] == ["failed"]


@pytest.mark.parametrize("connection", ["crm", "nope"])
async def test_a_connection_without_a_webhook__is_404(
    messaging_hub: MessagingHub, connection: str
) -> None:
    hub = messaging_hub(enrich=False)
    with api(hub) as url, httpx.Client(base_url=url) as client:
        response = client.post(f"/webhooks/{connection}", content=b"{}")
    assert response.status_code == 404
    assert "configured: dingtalk, wecom" in response.json()["detail"]


async def test_an_urgent_message__notifies_the_duty_engineer_after_the_answer(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(rules={"urgent": URGENT_RULE})
    with api(hub) as url:
        callback = sandboxes.callbacks.text(sender="wangwu", content="紧急：净水器漏水")
        response = await sandboxes.callbacks.adeliver(f"{url}/webhooks/wecom", callback)
        assert response.status_code == 200
        await eventually(lambda: bool(sandboxes.wecom.inbox("zhangsan")))
    [card] = sandboxes.wecom.inbox("zhangsan")
    [ticket] = rows(hub, Ticket)
    assert card.msgtype == "textcard" and card.content["title"] == f"紧急工单 #{ticket.id}"
    assert ticket.priority == "urgent"


async def test_webhooks__no_secret_or_signature_in_responses_audit_events_or_logs(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, caplog: pytest.LogCaptureFixture,
    audit_text: Any, api_client: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    hub = messaging_hub(enrich=False)
    shown: list[str] = []
    signatures: set[str] = set()
    with api_client(hub) as client:
        for vendor in ("wecom", "dingtalk"):
            for build in (forged, undecryptable, stale):
                method, query, body = build(sandboxes, vendor)
                signatures.add(query.get("msg_signature", ""))
                shown.append(client.request(method, f"/webhooks/{vendor}", params=query,
                                            content=body).text)
        callback = sandboxes.callbacks.text(sender="zhangsan", content="你好")
        signatures.add(callback.query["msg_signature"])
        shown.append(client.post("/webhooks/wecom", params=callback.query,
                                 content=callback.body).text)
        query, body = sandboxes.pusher.build({**ALARM, "msgId": "s-1"})
        signatures.add(query["msg_signature"])
        shown.append(client.post("/webhooks/dingtalk", params=query, content=body).text)
        shown.append(client.get("/tickets").text)
    events = "\n".join(json.dumps(e.payload, ensure_ascii=False) + str(e.error)
                       for e in rows(hub, WebhookEvent))
    secrets = sandboxes.secrets() | (signatures - {"", "0" * 40})
    for where, text in (("responses", "\n".join(shown)), ("audit", audit_text(hub)),
                        ("events", events), ("logs", caplog.text)):
        assert leaked(text, secrets) == [], where
    assert len(rows(hub, WebhookEvent)) == 2
