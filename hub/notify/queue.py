"""The notify send queue's operations: enqueue with the firing, claim under a lease, settle.

Every function runs inside the caller's transaction. A firing's deliveries are written in
the transaction that decides it (one per group robot, one per connection's people), with
the rendered message, so a crash after the decision loses nothing: whichever dispatcher
runs next sends them. A claim leases due rows (a free lease: never taken, given back, or
run out because its holder died) and counts the attempt; settling checks the lease is still
ours, so a dispatcher that lost its lease cannot overwrite what the next holder records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from connectors.sdk.messaging import Message
from hub.config.rules import RuleSpec, TargetSpec
from hub.core.time import as_utc

from ..store.leasing import LeaseColumns
from ..store.models import NotifyDelivery

__all__ = ["LEASE", "OPEN", "REPLAYABLE", "Claimed", "claim", "counts", "defer_robot",
           "enqueue", "has_pending", "message_of", "release", "renew", "replay",
           "robot_blocked_until", "settle", "settle_many"]

LEASE = LeaseColumns(NotifyDelivery.lease_owner, NotifyDelivery.lease_until)
OPEN = ("pending", "accepted")  # the dispatcher still owes something: a send, a follow-up
REPLAYABLE = ("dead", "unknown")


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased to this dispatcher, with what its send or follow-up needs."""

    id: int
    firing_id: int
    ticket_id: int
    rule: str
    connection: str
    robot: str | None
    targets: tuple[TargetSpec, ...]
    message: Message
    guarantee: str
    status: str  # pending: send it; accepted: ask for its result
    attempts: int  # sends, this one included when status is pending
    follow_ups: int
    replays: int
    maybe_delivered: int
    result: dict[str, Any] | None
    attempts_log: list[dict[str, Any]] = field(default_factory=list)
    previous_owner: str | None = None


def _message_json(message: Message) -> dict[str, Any]:
    return {"kind": message.kind, "title": message.title, "text": message.text,
            "url": message.url, "at_mobiles": list(message.at_mobiles),
            "at_all": message.at_all}


def message_of(data: dict[str, Any]) -> Message:
    return Message(kind=data["kind"], title=data["title"], text=data["text"],
                   url=data.get("url"), at_mobiles=tuple(data.get("at_mobiles") or ()),
                   at_all=bool(data.get("at_all")))


def _units(targets: Sequence[TargetSpec]) -> list[tuple[str, str | None, list[TargetSpec]]]:
    """(connection, robot, targets) per delivery: each robot alone, people per connection."""
    units: list[tuple[str, str | None, list[TargetSpec]]] = []
    people: dict[str, list[TargetSpec]] = {}
    for target in targets:
        if target.robot:
            units.append((target.connection, target.robot, [target]))
        else:
            people.setdefault(target.connection, []).append(target)
    units += [(connection, None, group) for connection, group in people.items()]
    return units


def enqueue(session: Session, *, firing_id: int, ticket_id: int, rule_name: str,
            rule: RuleSpec, message: Message, now: datetime) -> list[int]:
    """Queue the firing's deliveries, due now (a robot's once its throttle block ends);
    their ids."""
    rows = [NotifyDelivery(
        firing_id=firing_id, ticket_id=ticket_id, rule=rule_name, connection=connection,
        robot=robot, targets=[t.model_dump(exclude_none=True) for t in group],
        message=_message_json(message), guarantee=rule.delivery, status="pending",
        attempts=0, follow_ups=0, replays=0, maybe_delivered=0,
        next_attempt_at=max(now, robot_blocked_until(session, connection, robot) or now),
        created_at=now, updated_at=now) for connection, robot, group in _units(rule.notify)]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def claim(session: Session, *, owner: str, limit: int, now: datetime, lease: timedelta,
          ids: Sequence[int] | None = None, follow_all: bool = False) -> list[Claimed]:
    """Lease up to `limit` due, free deliveries (only `ids` when given), oldest first.

    `follow_all`: accepted ones are claimed whether their next follow-up is due or not."""
    if limit <= 0:
        return []
    due = NotifyDelivery.next_attempt_at <= now
    if follow_all:
        due = or_(due, NotifyDelivery.status == "accepted")
    query = select(NotifyDelivery).where(NotifyDelivery.status.in_(OPEN), due,
                                         LEASE.free(now))
    if ids is not None:
        query = query.where(NotifyDelivery.id.in_(list(ids)))
    query = query.order_by(NotifyDelivery.next_attempt_at, NotifyDelivery.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    taken: list[Claimed] = []
    for row in session.scalars(query):
        previous = row.lease_owner if row.lease_owner != owner else None
        if row.status == "pending":
            row.attempts += 1
        else:
            row.follow_ups += 1
        LEASE.take(row, owner, now + lease)
        row.updated_at = now
        taken.append(Claimed(
            row.id, row.firing_id, row.ticket_id, row.rule, row.connection, row.robot,
            tuple(TargetSpec.model_validate(t) for t in row.targets), message_of(row.message),
            row.guarantee, row.status, row.attempts, row.follow_ups, row.replays,
            row.maybe_delivered, row.result, list(row.attempts_log or []), previous))
    session.flush()
    return taken


def robot_blocked_until(session: Session, connection: str, robot: str | None
                        ) -> datetime | None:
    """When a group robot's throttle block ends, as its throttled deliveries wait for it
    (None: not throttled, or people)."""
    if robot is None:
        return None
    until: datetime | None = session.scalar(select(func.max(NotifyDelivery.next_attempt_at))
                                            .where(NotifyDelivery.connection == connection,
                                                   NotifyDelivery.robot == robot,
                                                   NotifyDelivery.status == "pending",
                                                   NotifyDelivery.error_kind == "throttled"))
    return None if until is None else as_utc(until)  # SQLite's max() reads back naive


def defer_robot(session: Session, *, connection: str, robot: str, until: datetime,
                now: datetime) -> int:
    """A group robot is blocked (DingTalk: 10 minutes after its 20 a minute, WeCom: the
    minute): every waiting delivery to it waits until `until` too, instead of meeting the
    block one by one. Rows in flight are left alone. How many were deferred."""
    changed = session.execute(update(NotifyDelivery).where(
        NotifyDelivery.connection == connection, NotifyDelivery.robot == robot,
        NotifyDelivery.status == "pending", NotifyDelivery.next_attempt_at < until,
        LEASE.free(now)).values(next_attempt_at=until))
    return int(changed.rowcount)  # type: ignore[attr-defined]


def renew(session: Session, *, owner: str, ids: Sequence[int], until: datetime) -> None:
    if ids:
        session.execute(update(NotifyDelivery).where(
            NotifyDelivery.id.in_(list(ids)), LEASE.held_by(owner),
            NotifyDelivery.status.in_(OPEN)).values(LEASE.renewed(until)))


def release(session: Session, *, owner: str, ids: Sequence[int]) -> None:
    """Give leases back at once (a graceful stop): the rows are claimable again now."""
    if ids:
        session.execute(update(NotifyDelivery).where(
            NotifyDelivery.id.in_(list(ids)), LEASE.held_by(owner)).values(LEASE.cleared()))


def settle(session: Session, row_id: int, *, owner: str, values: dict[str, Any]) -> bool:
    """Record an attempt's outcome (the lease is given back); False when it was lost."""
    changed = session.execute(update(NotifyDelivery).where(
        NotifyDelivery.id == row_id, LEASE.held_by(owner),
        NotifyDelivery.status.in_(OPEN)).values(**values, **LEASE.cleared()))
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def settle_many(session: Session, *, owner: str,
                settled: Sequence[tuple[int, dict[str, Any]]]) -> set[int]:
    """`settle` for many rows in two statements (their leases checked, then one UPDATE
    executed for all); every row's values must name the same columns. The ids settled:
    a row whose lease was lost is left to its new holder."""
    if not settled:
        return set()
    held_by_us = select(NotifyDelivery.id).where(
        NotifyDelivery.id.in_([row_id for row_id, _ in settled]), LEASE.held_by(owner),
        NotifyDelivery.status.in_(OPEN))
    if session.get_bind().dialect.name == "postgresql":
        held_by_us = held_by_us.with_for_update()
    held = set(session.scalars(held_by_us))
    params = [{"row_id": row_id, **values, **LEASE.cleared()}
              for row_id, values in settled if row_id in held]
    if params:
        table = cast(Table, NotifyDelivery.__table__)
        columns = [name for name in params[0] if name != "row_id"]
        session.connection().execute(
            table.update().where(table.c.id == bindparam("row_id"))
            .values({name: bindparam(name) for name in columns}), params)
    return held


def replay(session: Session, *, ids: Sequence[int] | None, now: datetime
           ) -> list[NotifyDelivery]:
    """Dead and unknown deliveries back to pending, due now, with a fresh retry budget."""
    query = select(NotifyDelivery).where(NotifyDelivery.status.in_(REPLAYABLE))
    if ids is not None:
        query = query.where(NotifyDelivery.id.in_(list(ids)))
    rows = list(session.scalars(query.order_by(NotifyDelivery.id)))
    for row in rows:
        row.status, row.attempts, row.replays = "pending", 0, row.replays + 1
        row.next_attempt_at = row.updated_at = now
        row.done_at = None
        LEASE.clear(row)
    session.flush()
    return rows


def has_pending(session: Session) -> bool:
    """Whether any delivery still waits to be sent (now or after a backoff)."""
    return session.scalar(select(NotifyDelivery.id).where(
        NotifyDelivery.status == "pending").limit(1)) is not None


def counts(session: Session) -> dict[str, int]:
    """Deliveries per status."""
    found = session.execute(select(NotifyDelivery.status, func.count())
                            .group_by(NotifyDelivery.status)).all()
    return {status: int(count) for status, count in found}
