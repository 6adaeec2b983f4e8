"""The store-backed NonceStore: a callback nonce seen by any process of the hub is a replay.

Rows live in `callback_nonces` until they expire; remembering a key is one short upsert that
takes over an expired row, so a nonce may be used again only once the vendor's freshness
window has long passed. Expired rows are purged now and then by whoever writes.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from hub.store.models import CallbackNonce

__all__ = ["SqlNonceStore"]

_MAX_KEY = 200
_PURGE_EVERY = 60.0  # seconds between purges of expired rows, per store


class SqlNonceStore:
    """A NonceStore (`connectors.sdk.crypto.NonceStore`) on the hub's store, SQLite or PostgreSQL.

    Args:
        sessions: the hub's session factory.
        clock: Unix-seconds clock (tests move it to expire nonces).
    """

    def __init__(self, sessions: sessionmaker[Session],
                 clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessions
        self._clock = clock
        self._next_purge = 0.0
        self._lock = threading.Lock()

    async def remember(self, key: str, *, ttl: float) -> bool:
        """Record `key` for `ttl` seconds; True if no live record of it existed."""
        return await asyncio.to_thread(self._remember, _stored_key(key), ttl)

    def _remember(self, key: str, ttl: float) -> bool:
        now = self._clock()
        with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            values = insert(CallbackNonce).values(key=key, expires_at=now + ttl)
            statement = values.on_conflict_do_update(
                index_elements=[CallbackNonce.key],
                set_={"expires_at": values.excluded.expires_at},
                where=CallbackNonce.expires_at <= now,  # only an expired record is replaced
            ).returning(CallbackNonce.key)
            first = session.execute(statement).first() is not None
            if self._purge_due(now):
                session.execute(delete(CallbackNonce).where(CallbackNonce.expires_at <= now))
        return first

    def _purge_due(self, now: float) -> bool:
        with self._lock:
            if now < self._next_purge:
                return False
            self._next_purge = now + _PURGE_EVERY
            return True

    def __repr__(self) -> str:
        return "SqlNonceStore()"


def _stored_key(key: str) -> str:
    """The key as stored: itself, or its digest when a vendor's nonce makes it too long."""
    if not key:
        raise ValueError("a nonce key must not be empty")
    if len(key) <= _MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
