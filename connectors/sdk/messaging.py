"""Messaging capabilities: notifiers, group robots, webhook receivers and their types."""

from ._messages import (
    Delivery,
    InboundEvent,
    Message,
    Notifier,
    Recipient,
    RobotPoster,
    WebhookReceiver,
    WebhookReply,
)

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
