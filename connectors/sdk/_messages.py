"""Messaging capabilities: what the hub's notify rules and webhook routes call, for any vendor.

A messenger connector offers one or more of three capabilities, checked with `isinstance`:

* `Notifier` — messages to people (DingTalk work notifications, WeCom app messages);
* `RobotPoster` — messages to a group through a robot named in the connection's config;
* `WebhookReceiver` — inbound callbacks, verified, decrypted and parsed into `InboundEvent`s.

The types are vendor-neutral: a `Message` says what to show, a `Recipient` whom, and a
`Delivery` what the vendor said (sent, pending an asynchronous result, partly or wholly failed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from ._callback_crypto import NonceStore

__all__ = [
    "Delivery",
    "InboundEvent",
    "Message",
    "Notifier",
    "Recipient",
    "RobotPoster",
    "WebhookReceiver",
    "WebhookReply",
]

MessageKind = Literal["text", "markdown", "card"]
DeliveryStatus = Literal["sent", "pending", "failed", "partial"]
_KINDS = ("text", "markdown", "card")


@dataclass(frozen=True, slots=True)
class Recipient:
    """One person to notify: by the vendor's user id, or by mobile (looked up by the connector).

    Exactly one of the two is set; build one with `Recipient.user(...)` or
    `Recipient.by_mobile(...)`.
    """

    user_id: str | None = None
    mobile: str | None = None

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.mobile is None):
            raise ValueError("a Recipient has exactly one of user_id and mobile")
        if not (self.user_id or self.mobile or "").strip():
            raise ValueError("a Recipient's user_id or mobile must not be blank")

    @classmethod
    def user(cls, user_id: str) -> Recipient:
        return cls(user_id=user_id)

    @classmethod
    def by_mobile(cls, mobile: str) -> Recipient:
        return cls(mobile=mobile)


@dataclass(frozen=True, slots=True)
class Message:
    """What to show, whatever the vendor.

    Attributes:
        kind: "text" (plain), "markdown", or "card" (a title, text and a button to `url`).
        title: the heading (markdown: the preview line in the chat list; card: its title).
        text: the body; plain or markdown as `kind` says.
        url: for a card, the link back to the ticket (required for cards).
        at_mobiles: for robots, the mobiles to @mention.
        at_all: for robots, @mention everyone in the group.
    """

    kind: MessageKind
    title: str
    text: str
    url: str | None = None
    at_mobiles: tuple[str, ...] = ()
    at_all: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown message kind {self.kind!r}; known: {', '.join(_KINDS)}")
        if self.kind == "card" and not self.url:
            raise ValueError("a card message needs a url (the link back to the ticket)")
        object.__setattr__(self, "at_mobiles", tuple(self.at_mobiles))


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the vendor said about one send.

    Attributes:
        channel: where it went, e.g. "dingtalk.work_notice", "dingtalk.robot", "wecom.app".
        status: "sent"; "pending" (accepted, result asked later with `follow_up`);
            "failed"; or "partial" (some recipients failed).
        message_id: the vendor's task id or message id.
        failed: the recipients (user ids, or mobiles that did not resolve) reported failed.
        detail: a short, secret-free explanation.
        duplicates: those of `failed` the vendor did not deliver to because they already
            got identical content (DingTalk 143106): delivered before, when this was a
            resend after a lost answer.
    """

    channel: str
    status: DeliveryStatus
    message_id: str | None = None
    failed: tuple[str, ...] = ()
    detail: str | None = None
    duplicates: tuple[str, ...] = ()


@runtime_checkable
class Notifier(Protocol):
    """Capability: person-to-person messages."""

    async def notify(self, message: Message, *, to: Sequence[Recipient]) -> Delivery:
        """Send `message` to the recipients; mobiles are resolved to user ids first."""
        ...

    async def follow_up(self, delivery: Delivery) -> Delivery:
        """For a pending (asynchronous) send, ask the vendor for the result; else return it."""
        ...


@runtime_checkable
class RobotPoster(Protocol):
    """Capability: group robots configured by name in the connection's config."""

    async def post(self, robot: str, message: Message) -> Delivery:
        """Post `message` through the robot named `robot`."""
        ...


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """One verified, decrypted callback.

    Attributes:
        connector: the connector's name ("dingtalk", "wecom").
        event_type: e.g. "text", "bpms_task_change", "event.device_alarm", "check_url".
        event_id: the dedupe key (the vendor's message id, or sender + creation time).
        sender: the vendor's user id of whoever sent it, when there is one.
        text: the message text, when there is one.
        payload: the whole decrypted event, parsed.
        received_at: when the receiver accepted it.
    """

    connector: str
    event_type: str
    event_id: str
    sender: str | None
    text: str | None
    payload: Mapping[str, Any] = field(repr=False)
    received_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """The HTTP answer a callback expects (the hub's route sends it as is)."""

    status_code: int
    body: bytes
    media_type: str

    @classmethod
    def json(cls, value: Any, *, status_code: int = 200) -> WebhookReply:
        content = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return cls(status_code, content.encode("utf-8"), "application/json")

    @classmethod
    def text(cls, value: str, *, status_code: int = 200) -> WebhookReply:
        return cls(status_code, value.encode("utf-8"), "text/plain")

    @classmethod
    def empty(cls, *, status_code: int = 200) -> WebhookReply:
        return cls(status_code, b"", "text/plain")


@runtime_checkable
class WebhookReceiver(Protocol):
    """Capability: inbound callbacks."""

    async def open_webhook(
        self, *, method: str, query: Mapping[str, str], body: bytes, nonces: NonceStore,
        now: float | None = None, headers: Mapping[str, str] | None = None,
    ) -> tuple[InboundEvent | None, WebhookReply]:
        """Verify, check freshness and replay, decrypt and parse one callback.

        `headers` are the request's headers, names in lower case (DingTalk's bot messages in
        HTTP mode are signed in headers). A receiver that needs none may leave the parameter
        out of its signature: the hub passes it only to receivers that declare it.

        Returns:
            The event (None for a URL verification such as DingTalk's check_url) and the
            reply to send.

        Raises:
            CallbackSignatureError: the signature does not match.
            StaleCallbackError: the timestamp is outside the window, or the nonce was used
                (`ReplayedCallbackError`).
            CallbackCryptoError: the ciphertext cannot be decrypted for this receiver.
        """
        ...
