"""The webhook service (`receive_webhook`) on its own: threading messages into open tickets,
what happens after the answer, and refusals that need a pinned clock or config."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.sdk.messaging import InboundEvent
from hub.runtime import Hub
from hub.store.models import AuditRecord, NotifyFiring, Ticket, WebhookEvent
from hub.tickets.inbound import WebhookRejectedError, WebhookResult, event_record, receive_webhook

from .conftest import URGENT_RULE, WEBHOOKS, MessagingHub, Sandboxes, rows


async def deliver_text(hub: Hub, sandboxes: Sandboxes, content: str, *, sender: str = "lisi",
                       now: float | None = None) -> WebhookResult:
    callback = sandboxes.callbacks.text(sender=sender, content=content)
    return await receive_webhook(hub, "wecom", method="POST", query=callback.query,
                                 body=callback.body, now=now)


async def test_receive__later_messages_join_the_open_ticket_until_it_is_resolved(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(enrich=False)
    first = await deliver_text(hub, sandboxes, "净水器漏水")
    second = await deliver_text(hub, sandboxes, "紧急！水已经漫到客厅了")
    assert (first.outcome, second.outcome) == ("ticket", "updated")
    assert first.ticket_id == second.ticket_id
    [ticket] = rows(hub, Ticket)
    assert ticket.priority == "urgent"  # raised by the second message
    assert ticket.description.startswith("净水器漏水\n\n[")
    assert ticket.description.endswith("lisi] 紧急！水已经漫到客厅了")
    with hub.sessions.begin() as session:
        session.get_one(Ticket, ticket.id).status = "resolved"
    third = await deliver_text(hub, sandboxes, "又漏了")
    assert third.outcome == "ticket" and third.ticket_id != ticket.id
    other = await deliver_text(hub, sandboxes, "我的发票呢", sender="zhaoliu")
    assert other.ticket_id not in (ticket.id, third.ticket_id)


async def test_receive__update_open_off_opens_a_ticket_per_message(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(enrich=False, webhooks={"wecom": {**WEBHOOKS["wecom"],
                                                          "update_open": False}})
    results = [await deliver_text(hub, sandboxes, text) for text in ("一", "二")]
    assert [r.outcome for r in results] == ["ticket", "ticket"]
    assert len(rows(hub, Ticket)) == 2


async def test_receive__the_work_after_the_answer_enriches_and_notifies(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(rules={"urgent": URGENT_RULE})
    result = await deliver_text(hub, sandboxes, "加急：冰箱不制冷")
    assert result.after is not None
    assert sandboxes.wecom.inbox("zhangsan") == []  # nothing sent before the answer
    [ticket] = rows(hub, Ticket)
    assert ticket.enrichment_status == "pending"
    await result.after()
    [ticket] = rows(hub, Ticket)
    assert ticket.enrichment_status == "not_found"  # the CRM has no customer "lisi"
    assert len(sandboxes.wecom.inbox("zhangsan")) == 1
    updated = await deliver_text(hub, sandboxes, "还是不制冷")
    assert updated.after is not None
    await updated.after()  # same state: the rule does not fire again
    assert len(rows(hub, NotifyFiring)) == 1


async def test_receive__a_callback_older_than_the_window_is_stale(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(enrich=False)
    callback = sandboxes.callbacks.text(sender="lisi", content="x", timestamp=1_700_000_000)
    with pytest.raises(WebhookRejectedError) as caught:
        await receive_webhook(hub, "wecom", method="POST", query=callback.query,
                              body=callback.body, now=1_700_000_000 + 301)
    assert (caught.value.reason, caught.value.http_status) == ("stale", 403)
    accepted = await receive_webhook(hub, "wecom", method="POST", query=callback.query,
                                     body=callback.body, now=1_700_000_000 + 299)
    assert accepted.outcome == "ticket"  # refused before its nonce was remembered


async def test_receive__a_connection_without_callback_keys_is_503_and_audited(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(enrich=False, dingtalk={"callback_token": None,
                                                "callback_aes_key": None})
    query, body = sandboxes.pusher.build({"EventType": "device_alarm", "deviceId": "D"})
    with pytest.raises(WebhookRejectedError) as caught:
        await receive_webhook(hub, "dingtalk", method="POST", query=query, body=body)
    assert (caught.value.reason, caught.value.http_status) == ("not_configured", 503)
    [row] = rows(hub, AuditRecord, AuditRecord.action == "webhook.reject")
    assert row.outcome == "not_configured"


async def test_receive__a_retry_of_a_refused_mapping_is_not_mapped_again(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(enrich=False)
    results = []
    for _ in range(2):
        callback = sandboxes.callbacks.text(sender="lisi", content=" ", msg_id=555)
        results.append(await receive_webhook(hub, "wecom", method="POST",
                                             query=callback.query, body=callback.body))
    assert [r.outcome for r in results] == ["failed", "duplicate"]
    [event] = rows(hub, WebhookEvent)
    assert (event.status, event.deliveries) == ("failed", 2)


def test_event_record__is_what_the_mappings_read() -> None:
    event = InboundEvent(connector="wecom", event_type="text", event_id="1", sender="lisi",
                         text="hi", payload={"Content": "hi"},
                         received_at=datetime(2024, 5, 2, 2, 0, tzinfo=UTC))
    record: dict[str, Any] = event_record("wecom", event)
    assert record == {"connection": "wecom", "connector": "wecom", "event_type": "text",
                      "event_id": "1", "sender": "lisi", "text": "hi",
                      "received_at": "2024-05-02T02:00:00+00:00",
                      "payload": {"Content": "hi"}}
