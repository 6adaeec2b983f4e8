"""The store writes of one part, in order, on a thread of their own: its pages and the audit
rows of its calls.

The event loop then never waits on the store: the driver's work (SQLite and psycopg let go
of the GIL) overlaps reading and parsing the next page, and a call's audit row, committed in
a transaction of its own as before, queues behind the page being stored instead of blocking
the loop on the store's write lock. An in-memory SQLite store (one database per thread) is
written inline.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["PartWriter"]

log = logging.getLogger("hub.sync")


class PartWriter:
    """Runs a part's writes one at a time, in the order they were asked for."""

    def __init__(self, *, threaded: bool) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-pull-writer") \
            if threaded else None
        self._queued: deque[Future[None]] = deque()

    def defer(self, write: Callable[[], None]) -> None:
        """Queue `write` (a call's audit row); if it fails, the next `run` raises its error."""
        if self._pool is None:
            write()
            return
        self._queued.append(self._pool.submit(contextvars.copy_context().run, write))

    async def run(self, write: Callable[[], None]) -> None:
        """Do `write` after everything queued before it; raises its error, or that of a
        deferred write before it."""
        if self._pool is None:
            write()
            return
        future = self._pool.submit(contextvars.copy_context().run, write)
        self._queued.append(future)
        await asyncio.wrap_future(future)
        self._settled()

    def finish(self) -> None:
        """Wait for what is queued; raises the first error among it."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._settled()

    def close(self) -> None:
        """Wait for what is queued, logging what failed (an error is already on its way)."""
        if self._pool is None:
            return
        self._pool.shutdown(wait=True)
        while self._queued:
            error = self._queued.popleft().exception()
            if error is not None:
                log.error("a queued write of the pull failed too: %s", error)

    def _settled(self) -> None:
        while self._queued and self._queued[0].done():
            self._queued.popleft().result()
