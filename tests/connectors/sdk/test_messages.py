"""The vendor-neutral messaging types and capability protocols."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.sdk.crypto import NonceStore
from connectors.sdk.messaging import (
    Delivery,
    InboundEvent,
    Message,
    Notifier,
    Recipient,
    RobotPoster,
    WebhookReceiver,
    WebhookReply,
)


def test_recipient__builds_by_user_or_mobile() -> None:
    assert Recipient.user("u1") == Recipient(user_id="u1")
    assert Recipient.by_mobile("13800000000") == Recipient(mobile="13800000000")


@pytest.mark.parametrize("kwargs", [
    {}, {"user_id": "u1", "mobile": "138"}, {"user_id": ""}, {"mobile": "  "},
])
def test_recipient__needs_exactly_one_non_blank_address(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="Recipient"):
        Recipient(**kwargs)


def test_message__keeps_mentions_as_a_tuple() -> None:
    message = Message("text", "t", "hi", at_mobiles=["138"])  # type: ignore[arg-type]
    assert message.at_mobiles == ("138",)
    assert hash(message)  # frozen and hashable


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"kind": "card", "title": "t", "text": "x"}, "url"),
    ({"kind": "card", "title": "t", "text": "x", "url": ""}, "url"),
    ({"kind": "html", "title": "t", "text": "x"}, "unknown message kind"),
])
def test_message__rejects_invalid_messages(kwargs: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Message(**kwargs)


def test_delivery__defaults_to_no_failures() -> None:
    delivery = Delivery("dingtalk.robot", "sent")
    assert delivery.failed == () and delivery.message_id is None and delivery.detail is None


def test_inbound_event__repr_leaves_the_payload_out() -> None:
    event = InboundEvent(connector="dingtalk", event_type="text", event_id="m1", sender="u1",
                         text="hello", payload={"body": "long customer text"},
                         received_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert "long customer text" not in repr(event)
    assert "event_type='text'" in repr(event)


@pytest.mark.parametrize(("reply", "status", "body", "media_type"), [
    (WebhookReply.json({"a": "成功"}), 200, {"a": "成功"}, "application/json"),
    (WebhookReply.text("echo", status_code=200), 200, "echo", "text/plain"),
    (WebhookReply.empty(status_code=204), 204, "", "text/plain"),
])
def test_webhook_reply__constructors(
    reply: WebhookReply, status: int, body: object, media_type: str
) -> None:
    assert reply.status_code == status and reply.media_type == media_type
    decoded = reply.body.decode("utf-8")
    assert (json.loads(decoded) if isinstance(body, dict) else decoded) == body


class _Messenger:
    async def notify(self, message: Message, *, to: Sequence[Recipient]) -> Delivery:
        return Delivery("x", "sent")

    async def follow_up(self, delivery: Delivery) -> Delivery:
        return delivery

    async def post(self, robot: str, message: Message) -> Delivery:
        return Delivery("x", "sent")

    async def open_webhook(
        self, *, method: str, query: Mapping[str, str], body: bytes, nonces: NonceStore,
        now: float | None = None,
    ) -> tuple[InboundEvent | None, WebhookReply]:
        return None, WebhookReply.empty()


class _Nothing:
    pass


@pytest.mark.parametrize("capability", [Notifier, RobotPoster, WebhookReceiver])
def test_capabilities__are_checked_with_isinstance(capability: type) -> None:
    assert isinstance(_Messenger(), capability)
    assert not isinstance(_Nothing(), capability)
