"""The dashboard as recently computed: one answer per store and window, reused for a few
seconds by every request of this process.

Computing every figure reads some 100,000 ticket rows' worth of index on a busy store
(bench/reports.py); a dashboard that a team keeps open is asked for far more often than its
figures change. Answers are kept per process (bounded, least recently used dropped first), for
at most `max_age_s`; `Dashboard.generated_at` always says when the answer was computed. Two
requests that miss at once compute it once: the second waits for the first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["RecentAnswers"]

T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    lock: threading.Lock = field(default_factory=threading.Lock)
    value: T | None = None
    at: float = float("-inf")


class RecentAnswers(Generic[T]):
    """Answers by key, each reused for `max_age_s` seconds after it was computed."""

    def __init__(self, *, size: int = 32, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[Hashable, _Entry[T]] = OrderedDict()
        self._lock = threading.Lock()
        self._size, self._clock = size, clock

    def get(self, key: Hashable, compute: Callable[[], T], *, max_age_s: float) -> T:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(key)
        with entry.lock:  # one computes, the others wait for its answer
            if entry.value is None or self._clock() - entry.at > max_age_s:
                entry.value, entry.at = compute(), self._clock()
            return entry.value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
