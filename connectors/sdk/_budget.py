"""Rate budgets: a connection's request allowance, shared by every job that uses it.

A budget spaces calls evenly: with limits of 20 per second and 600 per minute, calls start at
least max(1/20, 60/600) = 0.1 s apart — divided by the headroom (0.9 by default, so 0.111 s)
to absorb network jitter — which keeps every declared window under its limit. The
schedule is kept as GCRA state — one number per budget, the earliest time the next call may
start — in a `BudgetStore`: in memory for one process, in the hub's store or Redis for many,
so N workers together stay under the vendor's limit.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "PROCESS_BUDGETS",
    "BudgetStore",
    "MemoryBudgetStore",
    "RateBudget",
    "RateCap",
    "RateLimit",
]


class RateLimit(BaseModel):
    """Requests allowed per window, as the vendor documents or the admin configures.

    Attributes:
        per_second: calls per second.
        per_minute: calls per minute.
        per_hour: calls per hour.
        headroom: the share of the limit the budget uses (default 0.9). The budget spaces
            the starts of calls on this machine; the vendor counts their arrivals, which
            network and scheduling jitter can bunch up. 1.0 uses the whole limit.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_second: float | None = Field(default=None, gt=0)
    per_minute: float | None = Field(default=None, gt=0)
    per_hour: float | None = Field(default=None, gt=0)
    headroom: float = Field(default=0.9, gt=0, le=1)

    @model_validator(mode="after")
    def _at_least_one(self) -> RateLimit:
        if self.per_second is None and self.per_minute is None and self.per_hour is None:
            raise ValueError("give at least one of per_second, per_minute, per_hour")
        return self

    @property
    def interval(self) -> float:
        """Seconds between call starts that satisfies every window, with headroom."""
        spacings = [
            period / calls
            for calls, period in ((self.per_second, 1.0), (self.per_minute, 60.0),
                                  (self.per_hour, 3600.0))
            if calls is not None
        ]
        return max(spacings) / self.headroom


class BudgetStore(Protocol):
    """Where budget schedules live; `reserve` must be atomic across its users."""

    async def reserve(self, key: str, interval: float) -> float:
        """Book the next call slot of `key`; return seconds to wait until it (0: go now)."""
        ...


class MemoryBudgetStore:
    """Schedules for the threads and event loops of one process."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock

    async def reserve(self, key: str, interval: float) -> float:
        with self._lock:
            now = self._clock()
            slot = max(self._next.get(key, now), now)
            self._next[key] = slot + interval
            return slot - now


PROCESS_BUDGETS = MemoryBudgetStore()
_MAX_REBOOKINGS = 8
# A caller waking this late still uses its slot (scheduling on a busy machine; a slot given
# up is a call lost to the rate): at most this much of the schedule can bunch up.
LATE_TOLERANCE = 0.05


@dataclass
class RateBudget:
    """One connection's budget: `acquire()` before each request attempt."""

    key: str
    limit: RateLimit
    store: BudgetStore = PROCESS_BUDGETS
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    waited: float = 0.0  # total seconds this budget made its caller wait

    async def acquire(self) -> float:
        """Wait for this caller's slot; returns the seconds waited.

        A caller that wakes up well after its slot (the process stalled: more than half an
        interval, and more than `LATE_TOLERANCE`) books a fresh one instead of going at
        once: otherwise every caller whose slot passed during the stall would fire together,
        a burst the vendor counts against us. A stale slot is simply left unused, which can
        only lower the rate. A wake-up late by less — a busy machine's scheduling, often
        more than half of a short interval — uses its slot: giving those up cost 13 % of an
        80-a-second budget on a loaded 2-core machine (bench/notify.py).
        """
        interval = self.limit.interval
        waited = 0.0
        for _ in range(_MAX_REBOOKINGS):
            wait = await self.store.reserve(self.key, interval)
            if wait <= 0:
                break
            started = time.monotonic()
            await self.sleep(wait)
            slept = time.monotonic() - started
            waited += max(wait, slept)
            if slept - wait <= max(interval / 2, LATE_TOLERANCE):
                break
        self.waited += waited
        return waited

    async def refund(self) -> None:
        """Give back one call's slot: the call did not count against the vendor's limit (it
        never left, or a gateway answered 5xx before the vendor's API saw it). An idle
        budget is left as it is (a refund never makes room for a burst)."""
        await self.store.reserve(self.key, -self.limit.interval)


@dataclass
class RateCap:
    """At most `limit` calls in any `period` seconds, refused beyond (a quota, where a
    `RateBudget` makes its caller wait): for vendor caps such as token fetches a day, whose
    excess gets the caller blocked. Kept in a `BudgetStore` as GCRA state with a whole
    period of burst, so every process sharing the store shares the count; no calendar (any
    `period`-long window holds at most `limit`, so a calendar day does too).
    """

    key: str
    limit: int
    period: float
    store: BudgetStore = PROCESS_BUDGETS

    async def take(self) -> float | None:
        """Count one call: None when it may go, else the seconds until one may (and
        nothing is counted)."""
        interval = self.period / self.limit
        wait = await self.store.reserve(self.key, interval)
        over = wait + interval - self.period
        if over <= 1e-9:
            return None
        await self.store.reserve(self.key, -interval)  # give the booked slot back
        return over
