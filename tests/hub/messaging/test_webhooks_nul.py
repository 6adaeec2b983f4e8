"""A signed, encrypted DingTalk push whose content carries NUL characters (which PostgreSQL's
text and JSON columns refuse) is stored without them and acknowledged, on every store."""

from __future__ import annotations

from connectors.sdk.sandbox import serve
from hub.api import create_app
from hub.store.models import Ticket, WebhookEvent

from .conftest import MessagingHub, Sandboxes, rows


async def test_dingtalk__a_push_with_nul_characters_is_stored_and_acknowledged(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(enrich=False)
    event = {"EventType": "customer_message", "msgId": "m-\x00nul", "userId": "u\x009",
             "senderNick": "王\x00先生", "content": "发票\x00抬头开错了",
             "extra": {"note\x00key": ["a\x00b"]}}
    with serve(create_app(hub=hub), lifespan="on") as url:
        response = await sandboxes.pusher.push(f"{url}/webhooks/dingtalk", event)
        assert response.status_code == 200
        assert sandboxes.pusher.open_reply(response.content) == "success"
        # The vendor's retry of the same event is a duplicate, acknowledged the same way.
        again = await sandboxes.pusher.push(f"{url}/webhooks/dingtalk", event)
        assert sandboxes.pusher.open_reply(again.content) == "success"
    [stored] = rows(hub, WebhookEvent)
    assert (stored.event_id, stored.sender, stored.status, stored.deliveries) == (
        "m-nul", "u9", "ticket", 2)
    assert stored.payload["content"] == "发票抬头开错了"
    assert stored.payload["extra"] == {"notekey": ["ab"]}
    [ticket] = rows(hub, Ticket)
    assert (ticket.subject, ticket.contact_name) == ("发票抬头开错了", "王先生")
