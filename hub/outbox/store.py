"""The outbox table's operations: enqueue with the ticket change, claim under a lease, finish.

Every function runs inside the caller's transaction. A claim takes rows whose lease is free,
counts the attempt and leases them to one dispatcher; the lease is renewed while the write
runs, and a dispatcher that dies (kill -9) simply stops renewing: when the lease runs out the
row is claimable again, and since its attempt was counted, the next write asks the vendor
first. Finishing a row checks the lease is still ours, so a dispatcher that lost its lease
cannot overwrite what the new holder records. A row keeps the W3C traceparent of the change
that queued it (tracing on): the dispatcher's write continues that ticket's trace.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from connectors.sdk.capabilities import WriteResult

from ..core import tracing
from ..store.leasing import LeaseColumns
from ..store.models import OutboxMessage

__all__ = ["LEASE", "Claimed", "claim", "depth", "enqueue", "has_pending", "release", "renew",
           "replay", "settle_failure", "settle_success"]

LEASE = LeaseColumns(OutboxMessage.lease_owner, OutboxMessage.lease_until)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row leased to this dispatcher, with what the write needs."""

    id: int
    job: str
    connection: str
    action: str
    key: str
    document: dict[str, Any]
    attempts: int  # this attempt included
    replays: int
    ticket_id: int | None
    previous_owner: str | None = None  # whose lease ran out before this claim took it
    traceparent: str | None = None  # the trace of the change that queued it (tracing on)

    @property
    def check_first(self) -> bool:
        """Ask the vendor before writing: anything but a first attempt may have landed."""
        return self.attempts > 1 or self.replays > 0


def enqueue(session: Session, *, job: str, connection: str, action: str, key: str,
            ticket_id: int | None, mapping: str, payload: dict[str, Any],
            document: dict[str, Any], now: datetime) -> OutboxMessage:
    """Add a write to the outbox, or renew the row already owed under the same key (a
    re-resolved ticket updates the document it published: the new content is sent anew)."""
    row = session.scalars(select(OutboxMessage).where(
        OutboxMessage.connection == connection, OutboxMessage.action == action,
        OutboxMessage.idempotency_key == key)).one_or_none()
    if row is None:
        row = OutboxMessage(job=job, ticket_id=ticket_id, connection=connection, action=action,
                            idempotency_key=key, ordering_key=_ordering_key(ticket_id, key),
                            attempts=0, replays=0, created_at=now)
        session.add(row)
    row.mapping, row.payload, row.document = mapping, payload, document
    row.status, row.step, row.error, row.error_kind = "pending", None, None, None
    row.next_attempt_at, row.updated_at, row.done_at = now, now, None
    row.traceparent = tracing.traceparent()
    LEASE.clear(row)  # an in-flight send of the old content loses
    session.flush()
    return row


def _ordering_key(ticket_id: int | None, key: str) -> str:
    return f"ticket:{ticket_id}" if ticket_id is not None else f"key:{key}"


_EARLIER = aliased(OutboxMessage)
_NOW = bindparam("now")
_CLAIMED_COLUMNS = (OutboxMessage.id, OutboxMessage.job, OutboxMessage.connection,
                    OutboxMessage.action, OutboxMessage.idempotency_key, OutboxMessage.document,
                    OutboxMessage.attempts, OutboxMessage.replays, OutboxMessage.ticket_id,
                    OutboxMessage.ordering_key, OutboxMessage.lease_owner,
                    OutboxMessage.traceparent)


@lru_cache(maxsize=64)
def _due(*, for_update: bool, limit: int) -> Select[Any]:
    """Due, free rows no earlier row of their ticket waits before, oldest first, with what
    a write needs (the document, not the payload or an old result); `now` is bound when it
    runs. Built once per shape: the ORM took longer to build it than the store to run it."""
    waits_behind = exists().where(
        _EARLIER.ordering_key == OutboxMessage.ordering_key,
        _EARLIER.id < OutboxMessage.id,
        _EARLIER.status != "done",
    )
    query = select(*_CLAIMED_COLUMNS).where(
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= _NOW,
        LEASE.free(_NOW),
        ~waits_behind,
    ).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    if for_update:
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    return query


_TABLE = OutboxMessage.__table__
# One UPDATE leases every row a claim took and counts its attempt (the rows are locked by
# the claim's transaction: BEGIN IMMEDIATE on SQLite, FOR UPDATE on PostgreSQL).
_TAKE = update(_TABLE).where(_TABLE.c.id.in_(bindparam("ids", expanding=True))).values(
    **{LEASE.owner.key: bindparam("owner"), LEASE.until.key: bindparam("until")},
    attempts=_TABLE.c.attempts + 1, updated_at=bindparam("now"))


def claim(session: Session, *, owner: str, limit: int, now: datetime,
          lease: timedelta) -> list[Claimed]:
    """Lease up to `limit` due rows to `owner`, oldest first, never two of one ticket.

    Two statements on the table, no ORM rows: the due rows' columns, then one UPDATE."""
    if limit <= 0:
        return []
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    rows = connection.execute(_due(for_update=postgres, limit=limit * 2), {"now": now}).all()
    taken: list[Claimed] = []
    seen_orderings: set[str] = set()
    for (row_id, job, conn, action, key, document, attempts, replays, ticket_id, ordering,
         previous, traceparent) in sorted(rows, key=lambda row: row[0]):
        # the query keeps a ticket's later rows back; this keeps two due ones
        if ordering in seen_orderings or len(taken) >= limit:
            continue
        seen_orderings.add(ordering)
        # `previous` is set only when its lease ran out: release clears it
        taken.append(Claimed(row_id, job, conn, action, key, document, attempts + 1, replays,
                             ticket_id, previous if previous != owner else None, traceparent))
    if taken:
        connection.execute(_TAKE, {"ids": [row.id for row in taken], "owner": owner,
                                   "until": now + lease, "now": now})
    return taken


def renew(session: Session, *, owner: str, ids: Sequence[int], until: datetime) -> None:
    if ids:
        session.execute(update(OutboxMessage).where(
            OutboxMessage.id.in_(list(ids)), LEASE.held_by(owner),
            OutboxMessage.status == "pending").values(LEASE.renewed(until)))


def release(session: Session, *, owner: str, ids: Sequence[int]) -> None:
    """Give leases back at once (a graceful stop): the rows are claimable again now."""
    if ids:
        session.execute(update(OutboxMessage).where(
            OutboxMessage.id.in_(list(ids)), LEASE.held_by(owner)).values(LEASE.cleared()))


# A settle is one guarded UPDATE of the row (by id, still leased to us, still pending), built
# once on the table: on the ORM entity, building and running it cost ~3x as much, per row.
_OURS = and_(_TABLE.c.id == bindparam("row_id"), _TABLE.c.lease_owner == bindparam("owner"),
             _TABLE.c.status == "pending")
_SETTLE_SUCCESS = update(_TABLE).where(_OURS).values(
    status="done", step=bindparam("step"), result=bindparam("result"), error=None,
    error_kind=None, **LEASE.cleared(), done_at=bindparam("now"), updated_at=bindparam("now"))


def settle_success(session: Session, row_id: int, *, owner: str, result: WriteResult,
                   now: datetime) -> bool:
    """Mark the row done with the vendor's answer; False when the lease was lost meanwhile.

    One guarded UPDATE, no read: the dispatcher settles many rows per transaction."""
    changed = session.connection().execute(_SETTLE_SUCCESS, {
        "row_id": row_id, "owner": owner, "step": result.step,
        "result": dataclasses.asdict(result), "now": now})
    return bool(changed.rowcount)


def settle_failure(session: Session, row_id: int, *, owner: str, error: str, kind: str,
                   step: str | None, retry_at: datetime | None, now: datetime) -> bool:
    """Record a failed attempt: due again at `retry_at`, or dead (None: no more tries).
    False when the lease was lost meanwhile."""
    values: dict[str, Any] = {"error": error, "error_kind": kind, **LEASE.cleared(),
                              "updated_at": now}
    if step is not None:
        values["step"] = step
    if retry_at is None:
        values["status"] = "dead"
    else:
        values["next_attempt_at"] = retry_at
    changed = session.connection().execute(update(_TABLE).where(_OURS).values(**values),
                                           {"row_id": row_id, "owner": owner})
    return bool(changed.rowcount)


def replay(session: Session, *, ids: Sequence[int] | None, now: datetime) -> list[OutboxMessage]:
    """Dead letters back to pending (all of them when `ids` is None), due now, with a fresh
    retry budget; the write asks the vendor first, so a replay completes it once."""
    query = select(OutboxMessage).where(OutboxMessage.status == "dead")
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    rows = list(session.scalars(query.order_by(OutboxMessage.id)))
    for row in rows:
        row.status = "pending"
        row.attempts = 0
        row.replays += 1
        row.next_attempt_at = row.updated_at = now
        LEASE.clear(row)
    session.flush()
    return rows


def depth(session: Session, now: datetime) -> dict[str, int]:
    """Rows per state: pending (due or waiting), in_flight (leased), done, dead."""
    counts: dict[str, int] = dict(session.execute(  # type: ignore[arg-type]
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    in_flight = session.scalar(select(func.count()).where(and_(
        OutboxMessage.status == "pending", LEASE.held(now)))) or 0
    return {"pending": counts.get("pending", 0) - in_flight, "in_flight": in_flight,
            "done": counts.get("done", 0), "dead": counts.get("dead", 0)}



def has_pending(session: Session) -> bool:
    """Whether any pending row can still be sent (not stuck behind a dead letter)."""
    earlier = aliased(OutboxMessage)
    stuck = exists().where(earlier.ordering_key == OutboxMessage.ordering_key,
                           earlier.id < OutboxMessage.id, earlier.status == "dead")
    return session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.status == "pending", ~stuck).limit(1)) is not None
