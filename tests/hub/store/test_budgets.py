"""Rate budgets shared across processes: through the store (SQLite, PostgreSQL) and Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.store import migrate
from hub.store.budgets import RedisBudgetStore, SqlBudgetStore
from hub.store.engine import create_engine, session_factory

ROOT = Path(__file__).resolve().parents[3]


def assert_spaced(waits: list[float], interval: float) -> None:
    """Each reservation got its own slot, `interval` after the previous one."""
    waits = sorted(waits)
    gaps = [b - a for a, b in zip(waits, waits[1:], strict=False)]
    assert all(interval - 0.5 < gap < interval + 0.5 for gap in gaps), gaps


async def test_sql_store__concurrent_reservations_get_distinct_slots(database_url: str) -> None:
    engine = create_engine(database_url)
    migrate.upgrade(engine)
    store = SqlBudgetStore(session_factory(engine))
    waits = await asyncio.gather(*(store.reserve("crm:main", 10.0) for _ in range(8)))
    engine.dispose()
    assert_spaced(list(waits), 10.0)


async def test_redis_store__concurrent_reservations_get_distinct_slots(redis_url: str) -> None:
    store = RedisBudgetStore(redis_url, prefix=f"test:{uuid.uuid4().hex}:")
    try:
        waits = await asyncio.gather(*(store.reserve("crm:main", 10.0) for _ in range(8)))
    finally:
        await store.aclose()
    assert_spaced(list(waits), 10.0)


READER = textwrap.dedent("""
    import asyncio, sys
    import httpx
    from hub.runtime import Hub
    from hub.core.settings import Settings

    async def main():
        hub = Hub(Settings())
        crm = hub.connector("crm", actor="test")
        # Warm up (imports, thread pool, HTTP stack) outside the budget, then start together:
        # three interpreters importing at once on two cores would say nothing about sharing.
        await asyncio.to_thread(lambda: None)
        async with httpx.AsyncClient() as warm:
            await warm.get(hub.config.connection_configs["crm"].base_url + "/_sandbox/requests")
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        count = 0
        async with crm:
            async for batch in crm.read("customers"):
                count += len(batch.records)
        assert count == 120, count
        close = getattr(hub.budget_store, "aclose", None)
        if close:
            await close()
        hub.close()

    asyncio.run(main())
""")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["database", "redis"])
def test_budget__three_processes_share_one_budget(
    kind: str, tmp_path: Path, crm_sandbox: Any, request: pytest.FixtureRequest,
) -> None:
    env = dict(os.environ)
    if kind == "redis":
        env["HUB_REDIS_URL"] = request.getfixturevalue("redis_url")
    database = f"sqlite:///{tmp_path / 'hub.db'}"
    migrate.upgrade(engine := create_engine(database))
    engine.dispose()
    config = tmp_path / "hub.yaml"
    config.write_text(
        (ROOT / "configs/hub.yaml").read_text(encoding="utf-8").replace(
            "page_size: 200", "page_size: 20\n      rate_limit: {per_second: 10}"),
        encoding="utf-8")
    budget_key = f"crm-{uuid.uuid4().hex[:6]}"  # a fresh Redis key per run
    env.update({"HUB_DATABASE_URL": database, "HUB_CONFIG": str(config),
                "HUB_MAPPINGS_DIR": str(ROOT / "mappings"), "HUB_RATE_BUDGET_STORE": kind,
                "CRM_BASE_URL": crm_sandbox.url, "CRM_API_KEY": crm_sandbox.api_key})
    config.write_text(config.read_text(encoding="utf-8").replace("\n  crm:\n",
                                                                 f"\n  {budget_key}:\n")
                      .replace("connection: crm", f"connection: {budget_key}"),
                      encoding="utf-8")
    script = READER.replace('"crm"', repr(budget_key))
    processes = [subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    for process in processes:
        _, err = process.communicate("go\n", timeout=120)
        assert process.returncode == 0, err
    times = sorted(r["at"] for r in httpx.get(f"{crm_sandbox.url}/_sandbox/requests").json()
                   if r["path"].startswith("/api/v1/"))
    assert len(times) == 18  # 3 processes × 6 pages
    in_window = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert in_window <= 10  # the vendor's limit, judged on arrivals in any one-second window
