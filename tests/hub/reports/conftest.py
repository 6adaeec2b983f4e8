"""A hub on a fresh store (SQLite and PostgreSQL) and helpers that write rows at chosen times."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.runtime import Hub
from hub.store.models import AuditRecord, OutboxMessage, Ticket

# Local midnight of 2026-12-01 in Asia/Shanghai (UTC+8) is 2026-11-30T16:00Z.
NOW = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)  # 12:00 on Dec 3 in Shanghai


@pytest.fixture
def report_hub(make_hub: Any, database_url: str) -> Iterator[Hub]:
    hub: Hub = make_hub(database_url)
    yield hub
    hub.close()


def ticket(*, created: datetime | None, channel: str = "web", status: str = "open",
           category: str | None = "退款", priority: str = "normal",
           enrichment_status: str = "enriched", resolved: datetime | None = None,
           enriched: datetime | None = None, updated: datetime | None = None,
           answered: datetime | None = None) -> Ticket:
    return Ticket(subject="s", description="", channel=channel, status=status,
                  category=category, priority=priority, enrichment_status=enrichment_status,
                  created_at=created, resolved_at=resolved, enriched_at=enriched,
                  first_response_at=answered, updated_at=updated or resolved or created or NOW)


def add(hub: Hub, *rows: Any) -> list[Any]:
    with hub.sessions() as session, session.begin():
        session.add_all(rows)
    return list(rows)


_SEQ = {"next": 1000}


def call(at: datetime, target: str, outcome: str = "ok", duration_ms: float = 100.0
         ) -> AuditRecord:
    """An `http.call` audit row at `at` (a placeholder chain: the reports never read it)."""
    _SEQ["next"] += 1
    return AuditRecord(seq=_SEQ["next"], at=at, actor="job", action="http.call", target=target,
                       outcome=outcome, detail={"duration_ms": duration_ms, "status": 200},
                       prev_hash="0" * 64, hash="0" * 64)


def outbox_row(n: int, *, status: str, created: datetime, updated: datetime,
               connection: str = "kingdee", action: str = "refund.create",
               due: datetime | None = None) -> OutboxMessage:
    return OutboxMessage(
        job="erp_refunds", ordering_key=f"k{n}", connection=connection, action=action,
        idempotency_key=f"TK{n}", mapping="m@1", payload={}, document={}, status=status,
        attempts=1, replays=0, next_attempt_at=due or created, created_at=created,
        updated_at=updated, done_at=updated if status == "done" else None)


Hours = Callable[[float], timedelta]
hours: Hours = lambda h: timedelta(hours=h)  # noqa: E731
