"""Planner statistics refreshed during a big load, so key lookups keep using the index."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from hub.customers.store import upsert_customers
from hub.runtime import Hub
from hub.store.statistics import analyze_if_stale

pytestmark = pytest.mark.postgres


def _load(hub: Hub, count: int) -> None:
    with hub.sessions.begin() as session:
        upsert_customers(session, "crm", [{"external_id": f"C{i:06d}", "name": f"客户{i}"}
                                          for i in range(count)])


def test_stale_statistics_are_refreshed_once(postgres_url: str, make_hub: Any) -> None:
    hub: Hub = make_hub(postgres_url)
    _load(hub, 5000)
    analyzed: list[str] = []
    deadline = time.monotonic() + 10  # the server publishes its row counts within a second
    while not analyzed and time.monotonic() < deadline:
        with hub.engine.begin() as connection:
            analyzed = analyze_if_stale(connection, ["customers", "articles"])
        time.sleep(0.2)
    assert analyzed == ["customers"]
    with hub.engine.begin() as connection:
        assert analyze_if_stale(connection, ["customers"]) == []  # fresh now
        plan = "\n".join(connection.execute(sa.text(
            "explain select * from customers where source = 'crm' and external_id in "
            "('C000001', 'C000002')")).scalars())
    assert "external_id" in plan.split("Index Cond")[1].split("\n")[0], plan
    hub.close()


def test_sqlite_needs_no_statistics(sqlite_url: str, make_hub: Any) -> None:
    hub: Hub = make_hub(sqlite_url)
    _load(hub, 100)
    with hub.engine.begin() as connection:
        assert analyze_if_stale(connection, ["customers"]) == []
    hub.close()
