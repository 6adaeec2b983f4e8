"""The store-backed TokenCache: vendor tokens shared by every process of the hub.

Rows live in `connector_tokens` (see `ConnectorToken`). Each call is one short transaction
of its own, run in a worker thread so the event loop never waits on the database. The cache
also offers a lease (a row under ``<key>#lease``) so that, across processes, one fetches a
token while the others wait for it to appear.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from connectors.sdk.auth import CachedToken
from hub.core.time import as_utc
from hub.store.models import ConnectorToken

__all__ = ["SqlTokenCache"]

_LEASE_SUFFIX = "#lease"
_MAX_KEY = 200 - len(_LEASE_SUFFIX)


def _stamp(unix: float | None) -> datetime:
    return datetime.fromtimestamp(time.time() if unix is None else unix, UTC)


class SqlTokenCache:
    """A TokenCache (and TokenLease) on the hub's store, SQLite or PostgreSQL.

    `issued_at` is kept in the row's `updated_at`; `extra` must be JSON-able.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    async def get(self, key: str) -> CachedToken | None:
        return await asyncio.to_thread(self._get, _checked(key))

    async def put(self, key: str, token: CachedToken) -> None:
        values = {
            "key": _checked(key),
            "access_token": token.access_token.get_secret_value(),
            "refresh_token": (token.refresh_token.get_secret_value()
                              if token.refresh_token is not None else None),
            "expires_at": token.expires_at,
            "extra": dict(token.extra) or None,
            "updated_at": _stamp(token.issued_at),
        }
        await asyncio.to_thread(self._upsert, values, None)

    async def delete(self, key: str, *, access_token: str | None = None) -> bool:
        return await asyncio.to_thread(self._delete, _checked(key), access_token)

    async def acquire_lease(self, key: str, *, owner: str, ttl: float) -> bool:
        now = time.time()
        values = {
            "key": _checked(key) + _LEASE_SUFFIX, "access_token": owner, "refresh_token": None,
            "expires_at": now + ttl, "extra": None, "updated_at": _stamp(now),
        }
        # Insert, or take over a lease whose holder let it run out (crashed, or too slow).
        return await asyncio.to_thread(self._upsert, values, now)

    async def release_lease(self, key: str, *, owner: str) -> None:
        await asyncio.to_thread(self._delete, _checked(key) + _LEASE_SUFFIX, owner)

    def _get(self, key: str) -> CachedToken | None:
        with self._sessions() as session:
            row = session.get(ConnectorToken, key)
            if row is None:
                return None
            updated = as_utc(row.updated_at)  # SQLite returns naive datetimes (UTC)
            return CachedToken(
                access_token=SecretStr(row.access_token),
                refresh_token=SecretStr(row.refresh_token) if row.refresh_token else None,
                expires_at=row.expires_at,
                issued_at=updated.timestamp(),
                extra=dict(row.extra or {}),
            )

    def _upsert(self, values: dict[str, Any], expired_before: float | None) -> bool:
        """Insert or replace the row; with `expired_before`, replace only a row that expired
        before then. True if the row was written."""
        with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = insert(ConnectorToken).values(**values)
            changes = {name: statement.excluded[name] for name in values if name != "key"}
            where = None
            if expired_before is not None:
                where = ConnectorToken.expires_at < expired_before
            statement = statement.on_conflict_do_update(
                index_elements=[ConnectorToken.key], set_=changes, where=where,
            ).returning(ConnectorToken.key)
            # RETURNING, not rowcount: drivers disagree on the count of a skipped upsert.
            return session.execute(statement).first() is not None

    def _delete(self, key: str, access_token: str | None) -> bool:
        with self._sessions.begin() as session:
            statement = delete(ConnectorToken).where(ConnectorToken.key == key)
            if access_token is not None:
                statement = statement.where(ConnectorToken.access_token == access_token)
            result = session.execute(statement)
            return bool(getattr(result, "rowcount", 0))

    def __repr__(self) -> str:
        return "SqlTokenCache()"


def _checked(key: str) -> str:
    if not key or len(key) > _MAX_KEY:
        raise ValueError(f"token cache key must be 1 to {_MAX_KEY} characters")
    return key

