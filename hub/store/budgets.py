"""Rate-budget schedules shared by every process of the hub: in the store, or in Redis."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from hub.store.models import RateBudget

__all__ = ["RedisBudgetStore", "SqlBudgetStore"]

_INSERTS: dict[str, Any] = {"postgresql": pg_insert, "sqlite": sqlite_insert}


class SqlBudgetStore:
    """Budgets in the `rate_budgets` table; each reservation is one short transaction.

    The row is locked for the read-modify-write (SELECT … FOR UPDATE on PostgreSQL; SQLite's
    write lock is taken at BEGIN IMMEDIATE), so concurrent processes book distinct slots.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    async def reserve(self, key: str, interval: float) -> float:
        return await asyncio.to_thread(self._reserve, key, interval)

    def _reserve(self, key: str, interval: float) -> float:
        with self._sessions.begin() as session:
            insert = _INSERTS[session.get_bind().dialect.name]
            # Create the row if this is the budget's first call; a racing creator is harmless.
            session.execute(insert(RateBudget).values(key=key, tat=0.0)
                            .on_conflict_do_nothing(index_elements=["key"]))
            row = session.scalars(select(RateBudget).where(RateBudget.key == key)
                                  .with_for_update()).one()
            now = time.time()
            slot = max(row.tat, now)
            row.tat = slot + interval
            return slot - now


_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local ttl_ms = math.ceil((slot + interval - now) * 1000) + 60000
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', ttl_ms)
return tostring(slot - now)
"""


class RedisBudgetStore:
    """Budgets in Redis: one atomic Lua script per reservation, on Redis's own clock."""

    def __init__(self, url: str, *, prefix: str = "hub:budget:") -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url)
        self._prefix = prefix
        self._script: Any = self._redis.register_script(_GCRA)

    async def reserve(self, key: str, interval: float) -> float:
        return float(await self._script(keys=[self._prefix + key], args=[interval]))

    async def aclose(self) -> None:
        await self._redis.aclose()
