"""Concurrent callers of one piece of work share one run of it, within a process: the first
starts it as a task, the others await the same task (shielded, so a caller that gives up
does not cancel it for the rest). Used for a customer's history fetch (cache.py) and the
remote lookup of a ticket's customer (lookup.py)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

from ..runtime import Hub

__all__ = ["Flights"]

T = TypeVar("T")


class Flights(Generic[T]):
    """The runs in flight, per hub and key."""

    def __init__(self) -> None:
        self._by_hub: weakref.WeakKeyDictionary[Hub, dict[Hashable, asyncio.Task[T]]] = (
            weakref.WeakKeyDictionary())

    async def join(self, hub: Hub, key: Hashable,
                   start: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """The result of the run for `key` in flight, else of one started by `start()`."""
        flights = self._by_hub.setdefault(hub, {})
        task = flights.get(key)
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.create_task(start())
            flights[key] = task
            task.add_done_callback(lambda done: _landed(flights, key, done))
        return await asyncio.shield(task)


def _landed(flights: dict[Hashable, asyncio.Task[T]], key: Hashable,
            task: asyncio.Task[T]) -> None:
    if flights.get(key) is task:
        del flights[key]
    if not task.cancelled():
        task.exception()  # retrieved here: every caller may have given up waiting
