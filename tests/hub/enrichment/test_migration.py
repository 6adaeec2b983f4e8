"""Migration 0011 queues the open tickets that were left pending or partially enriched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from hub.enrichment.queue import claim
from hub.store import migrate
from hub.store.engine import create_engine, session_factory
from hub.store.models import EnrichmentTask, Ticket


def test_upgrade__queues_unfinished_open_tickets(database_url: str) -> None:
    engine = create_engine(database_url)
    migrate.upgrade(engine, "0010")
    now = datetime.now(UTC)
    rows = [("pending", "open"), ("partial", "pending"), ("enriched", "open"),
            ("pending", "closed"), ("skipped", "open")]
    with engine.begin() as connection:
        connection.execute(insert(Ticket), [
            {"id": n + 1, "subject": f"t{n}", "description": "", "channel": "api",
             "status": status, "enrichment_status": enrichment, "priority": "normal",
             "resolutions": 0, "created_at": now, "updated_at": now}
            for n, (enrichment, status) in enumerate(rows)])
    migrate.upgrade(engine)
    with engine.connect() as connection:
        queued = connection.execute(select(
            EnrichmentTask.ticket_id, EnrichmentTask.reason, EnrichmentTask.status,
            EnrichmentTask.attempts).order_by(EnrichmentTask.ticket_id)
        ).all()
    assert [tuple(row) for row in queued] == [(1, "created", "pending", 0),
                                           (2, "created", "pending", 0)]
    with session_factory(engine).begin() as session:  # due now, as the queue reads it
        claimed = claim(session, owner="t", limit=10, now=datetime.now(UTC),
                        lease=timedelta(minutes=1))
    engine.dispose()
    assert sorted(c.ticket_id for c in claimed) == [1, 2]
