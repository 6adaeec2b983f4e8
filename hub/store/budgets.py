"""Rate-budget schedules shared by every process of the hub: in the store, or in Redis."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from hub.store.models import RateBudget

__all__ = ["RedisBudgetStore", "SqlBudgetStore"]

_INSERTS: dict[str, Any] = {"postgresql": pg_insert, "sqlite": sqlite_insert}


class SqlBudgetStore:
    """Budgets in the `rate_budgets` table; each reservation is one statement.

    An upsert books the slot and returns it: ``INSERT … ON CONFLICT (key) DO UPDATE SET tat =
    max(tat, now) + interval RETURNING tat``. The row is locked for its update (PostgreSQL's
    row lock; SQLite's write lock, taken at BEGIN IMMEDIATE), so concurrent processes book
    distinct slots.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    async def reserve(self, key: str, interval: float) -> float:
        return await asyncio.to_thread(self._reserve, key, interval)

    def _reserve(self, key: str, interval: float) -> float:
        with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            connection = session.connection()  # SQLite: BEGIN IMMEDIATE, the lock taken
            now = time.time()
            table = RateBudget.__table__
            booked = _INSERTS[dialect](table).values(key=key, tat=now + interval)
            later = func.greatest if dialect == "postgresql" else func.max
            statement = booked.on_conflict_do_update(
                index_elements=["key"],
                set_={"tat": later(table.c.tat, now) + interval},
            ).returning(table.c.tat)
            tat = float(connection.execute(statement).scalar_one())
            return tat - interval - now


_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local ttl_ms = math.max(1000, math.ceil((slot + interval - now) * 1000) + 60000)
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
