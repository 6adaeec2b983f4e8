"""The outbox table's claim/lease/settle rules, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.sdk.capabilities import WriteResult
from hub.outbox import store
from hub.runtime import Hub
from hub.store.models import OutboxMessage, Ticket

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


@pytest.fixture
def db(database_url: str, make_hub: Any) -> Any:
    hub = make_hub(database_url)
    yield hub
    hub.close()


def _ticket(hub: Hub) -> int:
    with hub.sessions.begin() as session:
        ticket = Ticket(subject="s", description="", channel="api", created_at=T0,
                        updated_at=T0)
        session.add(ticket)
        session.flush()
        return ticket.id


def _enqueue(hub: Hub, ticket_id: int | None, key: str, *, action: str = "refund.create",
             at: datetime = T0) -> int:
    with hub.sessions.begin() as session:
        row = store.enqueue(session, job="j", connection="erp", action=action, key=key,
                            ticket_id=ticket_id, mapping="m@1", payload={"k": key},
                            document={"FBillNo": key}, now=at)
        return row.id


def _claim(hub: Hub, owner: str, *, limit: int = 10, at: datetime = T0) -> list[store.Claimed]:
    with hub.sessions.begin() as session:
        return store.claim(session, owner=owner, limit=limit, now=at, lease=LEASE)


def _succeed(hub: Hub, row_id: int, owner: str) -> bool:
    with hub.sessions.begin() as session:
        return store.settle_success(session, row_id, owner=owner, now=T0,
                                    result=WriteResult("refund.create", "k", "1", "N1"))


def _fail(hub: Hub, row_id: int, owner: str, retry_at: datetime | None) -> None:
    with hub.sessions.begin() as session:
        store.settle_failure(session, row_id, owner=owner, error="boom", kind="transient",
                             step="saved", retry_at=retry_at, now=T0)


def test_claim__one_row_per_ticket_at_a_time_in_order(db: Hub) -> None:
    first, second = _ticket(db), _ticket(db)
    a1 = _enqueue(db, first, "A1")
    a2 = _enqueue(db, first, "A2", action="parts.consume")
    b1 = _enqueue(db, second, "B1")
    assert [c.id for c in _claim(db, "me")] == [a1, b1]  # a2 waits behind a1
    assert _claim(db, "other") == []  # leased rows are nobody else's
    _succeed(db, a1, "me")
    assert [c.id for c in _claim(db, "other")] == [a2]


def test_claim__respects_the_limit_and_counts_the_attempt(db: Hub) -> None:
    ids = [_enqueue(db, None, f"K{i}") for i in range(5)]
    taken = _claim(db, "me", limit=3)
    assert [c.id for c in taken] == ids[:3]
    assert all(c.attempts == 1 and not c.check_first for c in taken)


def test_an_expired_lease_makes_the_row_claimable_and_the_next_try_asks_first(db: Hub) -> None:
    row = _enqueue(db, None, "K1")
    [claimed] = _claim(db, "dead-dispatcher")
    assert _claim(db, "me", at=T0 + LEASE / 2) == []
    [again] = _claim(db, "me", at=T0 + LEASE + timedelta(seconds=1))
    assert (again.id, again.attempts, again.check_first) == (row, 2, True)
    # The first holder lost its lease: what it reports now is ignored.
    assert not _succeed(db, claimed.id, "dead-dispatcher")
    assert _succeed(db, row, "me")


def test_a_failure_reschedules_then_a_final_one_makes_a_dead_letter(db: Hub) -> None:
    row = _enqueue(db, None, "K1")
    _claim(db, "me")
    _fail(db, row, "me", retry_at=T0 + timedelta(seconds=5))
    assert _claim(db, "me") == []  # not due yet
    [claimed] = _claim(db, "me", at=T0 + timedelta(seconds=6))
    _fail(db, claimed.id, "me", retry_at=None)
    with db.sessions() as session:
        dead = session.get_one(OutboxMessage, row)
        assert (dead.status, dead.step, dead.error, dead.attempts) == ("dead", "saved",
                                                                        "boom", 2)


def test_a_dead_letter_holds_back_its_tickets_later_rows_until_replayed(db: Hub) -> None:
    ticket = _ticket(db)
    first = _enqueue(db, ticket, "A1")
    later = _enqueue(db, ticket, "A2", action="parts.consume")
    _claim(db, "me")
    _fail(db, first, "me", retry_at=None)
    with db.sessions() as session:
        assert not store.has_pending(session)  # a drain stops instead of waiting forever
    assert _claim(db, "me") == []
    with db.sessions.begin() as session:
        [replayed] = store.replay(session, ids=None, now=T0)
        assert (replayed.id, replayed.status, replayed.attempts, replayed.replays) == (
            first, "pending", 0, 1)
    [claimed] = _claim(db, "me")
    assert (claimed.id, claimed.check_first) == (first, True)  # a replay always asks first
    _succeed(db, first, "me")
    assert [c.id for c in _claim(db, "me")] == [later]


def test_enqueue_under_a_known_key_renews_the_row_and_takes_it_from_its_holder(db: Hub) -> None:
    row = _enqueue(db, None, "KB1", action="article.publish")
    _claim(db, "me")
    again = _enqueue(db, None, "KB1", action="article.publish", at=T0 + timedelta(seconds=1))
    assert again == row
    assert not _succeed(db, row, "me")  # the old content's send does not close it
    [claimed] = _claim(db, "other", at=T0 + timedelta(seconds=2))
    assert claimed.id == row and claimed.check_first


def test_depth_counts_each_state(db: Hub) -> None:
    ids = [_enqueue(db, None, f"K{i}") for i in range(4)]
    _claim(db, "me", limit=2)
    _succeed(db, ids[0], "me")
    _fail(db, ids[1], "me", retry_at=None)
    with db.sessions() as session:
        assert store.depth(session, T0) == {"pending": 2, "in_flight": 0, "done": 1, "dead": 1}
    _claim(db, "me", limit=1)
    with db.sessions() as session:
        assert store.depth(session, T0)["in_flight"] == 1


def test_claim__names_the_owner_whose_lease_ran_out(db: Hub) -> None:
    row = _enqueue(db, None, "K1")
    [first] = _claim(db, "dead-host:41:abc")
    assert first.previous_owner is None  # a fresh row had no holder
    [taken] = _claim(db, "me", at=T0 + LEASE + timedelta(seconds=1))
    assert taken.id == row and taken.previous_owner == "dead-host:41:abc"
    _fail(db, row, "me", retry_at=T0)  # settling clears the lease: no takeover next time
    [again] = _claim(db, "other", at=T0 + 2 * LEASE)
    assert again.previous_owner is None
