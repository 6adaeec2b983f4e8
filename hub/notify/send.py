"""Deliveries: a rule's message sent to its targets through the connections' connectors.

The connectors do the hard parts (tokens, retries on rate-limit codes, per-robot and
per-member budgets, mobile lookups); this module groups targets per connection, follows
asynchronous sends up (DingTalk work notifications), and turns every outcome — a failure
included — into a secret-free `DeliveryRecord` for the firing row, the run and the audit log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from connectors.sdk import Connector, ConnectorError
from connectors.sdk.http import CallRecord
from connectors.sdk.messaging import Delivery, Message, Notifier, Recipient, RobotPoster
from hub.config.rules import TargetSpec, mask_mobile
from hub.core import tracing
from hub.errors import HubError
from hub.runtime import Hub

__all__ = ["ConnectorPool", "DeliveryRecord", "FollowUp", "deliver", "follow_unit",
           "follow_up", "resend_deduplicated", "send_unit"]


@dataclass(frozen=True, slots=True)
class FollowUp:
    """How often to ask for an asynchronous send's result (at once, then every `interval`
    seconds) before leaving it pending for the next `check_overdue`."""

    attempts: int = 3
    interval: float = 0.5


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One send to one or more targets of a connection, as stored and audited.

    Attributes:
        connection: the connection it went through.
        targets: the targets' labels (mobiles masked).
        status: sent, pending (asynchronous, not yet known), partial or failed.
        channel: the vendor channel, e.g. "dingtalk.robot" (None if nothing was sent).
        message_id: the vendor's task or message id.
        failed: recipients the vendor did not reach (mobiles masked).
        detail: the vendor's explanation, or the error that stopped the send.
    """

    connection: str
    targets: tuple[str, ...]
    status: str
    channel: str | None = None
    message_id: str | None = None
    failed: tuple[str, ...] = ()
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["targets"], data["failed"] = list(self.targets), list(self.failed)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeliveryRecord:
        return cls(connection=data["connection"], targets=tuple(data.get("targets") or ()),
                   status=data["status"], channel=data.get("channel"),
                   message_id=data.get("message_id"), failed=tuple(data.get("failed") or ()),
                   detail=data.get("detail"))

    @classmethod
    def of(cls, connection: str, targets: Sequence[str], delivery: Delivery) -> DeliveryRecord:
        return cls(connection=connection, targets=tuple(targets), status=delivery.status,
                   channel=delivery.channel, message_id=delivery.message_id,
                   failed=tuple(_masked(r) for r in delivery.failed), detail=delivery.detail)


def _masked(recipient: str) -> str:
    digits = recipient.replace("+", "").replace(" ", "")
    return mask_mobile(recipient) if digits.isdigit() and len(digits) >= 8 else recipient


@dataclass
class ConnectorPool:
    """The connectors one notify pass sends through, opened once each and closed together;
    counts the retries their calls took."""

    hub: Hub
    actor: str
    retries: int = 0
    audit_hook: Any = None  # replaces the default audit of each call (the dispatcher's)
    _open: dict[str, Connector[Any]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _observe(self, call: CallRecord) -> None:
        self.retries += call.attempt > 1

    async def get(self, connection: str) -> Connector[Any]:
        async with self._lock:  # concurrent sends share one connector per connection
            connector = self._open.get(connection)
            if connector is None:
                connector = self.hub.connector(connection, actor=self.actor,
                                               observe=self._observe,
                                               audit_hook=self.audit_hook)
                await connector.__aenter__()
                self._open[connection] = connector
            return connector

    async def aclose(self) -> None:
        connectors, self._open = list(self._open.values()), {}
        for connector in connectors:
            await connector.__aexit__(None, None, None)


def _recipient(target: TargetSpec) -> Recipient:
    return Recipient.user(target.user) if target.user else Recipient.by_mobile(target.mobile or "")


async def deliver(pool: ConnectorPool, targets: Sequence[TargetSpec], message: Message, *,
                  follow: FollowUp | None = None) -> list[DeliveryRecord]:
    """Send `message` to every target: one person-to-person send per connection (its users
    and mobiles together), one post per robot. Never raises for a refused send: the error
    is the record's `detail`, status "failed"."""
    records: list[DeliveryRecord] = []
    people: dict[str, list[TargetSpec]] = {}
    for target in targets:
        if target.robot:
            with tracing.span("notify.send", **{"hub.connection": target.connection,
                                               "hub.channel": "robot"}) as span:
                records.append(_traced(span, await _post(pool, target, message)))
        else:
            people.setdefault(target.connection, []).append(target)
    for connection, group in people.items():
        with tracing.span("notify.send", **{"hub.connection": connection,
                                           "hub.channel": "people",
                                           "hub.recipients": len(group)}) as span:
            records.append(_traced(span, await _notify(pool, connection, group, message,
                                                       follow or FollowUp())))
    return records


def _traced(span: Any, record: DeliveryRecord) -> DeliveryRecord:
    """The send's outcome on its span (tracing on); never who it went to."""
    if span is not None:
        span.set_attribute("hub.outcome", record.status)
    return record


async def _post(pool: ConnectorPool, target: TargetSpec, message: Message) -> DeliveryRecord:
    labels = (target.label,)
    try:
        connector = await pool.get(target.connection)
        if not isinstance(connector, RobotPoster):
            return _failed(target.connection, labels, "the connector has no group robots")
        delivery = await connector.post(target.robot or "", message)
    except (ConnectorError, HubError) as exc:
        return _failed(target.connection, labels, pool.hub.redactor.text(str(exc)))
    return DeliveryRecord.of(target.connection, labels, delivery)


async def _notify(pool: ConnectorPool, connection: str, group: Sequence[TargetSpec],
                  message: Message, follow: FollowUp) -> DeliveryRecord:
    labels = tuple(t.label for t in group)
    try:
        connector = await pool.get(connection)
        if not isinstance(connector, Notifier):
            return _failed(connection, labels, "the connector cannot message people")
        delivery = await connector.notify(message, to=[_recipient(t) for t in group])
    except (ConnectorError, HubError) as exc:
        return _failed(connection, labels, pool.hub.redactor.text(str(exc)))
    record = DeliveryRecord.of(connection, labels, delivery)
    for attempt in range(follow.attempts):  # a failed follow-up leaves it accepted
        if record.status != "pending":
            break
        if attempt:
            await asyncio.sleep(follow.interval)
        record = await follow_up(pool, record)
    return record


async def follow_up(pool: ConnectorPool, record: DeliveryRecord) -> DeliveryRecord:
    """Ask the vendor again about a pending send; the record as it stands now."""
    if record.status != "pending" or record.message_id is None or record.channel is None:
        return record
    try:
        connector = await pool.get(record.connection)
        if not isinstance(connector, Notifier):
            return record
        delivery = await connector.follow_up(Delivery(
            record.channel, "pending", message_id=record.message_id, failed=record.failed))
    except (ConnectorError, HubError) as exc:
        detail = pool.hub.redactor.text(str(exc))
        return DeliveryRecord(record.connection, record.targets, "pending", record.channel,
                              record.message_id, record.failed, f"follow-up failed: {detail}")
    return DeliveryRecord.of(record.connection, record.targets, delivery)


def _failed(connection: str, targets: tuple[str, ...], detail: str) -> DeliveryRecord:
    return DeliveryRecord(connection=connection, targets=targets, status="failed", detail=detail)


# -- the send queue's single attempts (they raise: the dispatcher classifies the error) --------

async def send_unit(pool: ConnectorPool, connection: str, robot: str | None,
                    targets: Sequence[TargetSpec], message: Message) -> Delivery:
    """One attempt of one queued delivery: a robot post, or one send to a connection's
    people. Raises the connector's typed error (or HubError for an unknown connection)."""
    connector = await pool.get(connection)
    if robot is not None:
        if not isinstance(connector, RobotPoster):
            raise HubError(f"connection '{connection}': the connector has no group robots")
        return await connector.post(robot, message)
    if not isinstance(connector, Notifier):
        raise HubError(f"connection '{connection}': the connector cannot message people")
    return await connector.notify(message, to=[_recipient(t) for t in targets])


async def follow_unit(pool: ConnectorPool, connection: str, delivery: Delivery) -> Delivery:
    """Ask the vendor once about an accepted (pending) send; raises on a failed call."""
    connector = await pool.get(connection)
    if not isinstance(connector, Notifier):
        return delivery
    return await connector.follow_up(delivery)


async def resend_deduplicated(pool: ConnectorPool, connection: str, robot: str | None) -> bool:
    """Whether the vendor drops a resend of what it already delivered (so a send whose
    answer was lost may be sent again): the connector says, through an optional
    `resend_deduplicated(robot)` method; a connector without one does not dedupe."""
    connector = await pool.get(connection)
    check = getattr(connector, "resend_deduplicated", None)
    return bool(check(robot)) if callable(check) else False
