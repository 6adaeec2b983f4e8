"""Rate budgets: spacing, and four concurrent jobs staying inside one budget."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from connectors.crm.connector import CrmConnector
from connectors.sdk.ratelimit import MemoryBudgetStore, RateBudget, RateCap, RateLimit


@pytest.mark.parametrize(
    ("limit", "interval"),
    [({"per_second": 20, "headroom": 1}, 0.05), ({"per_minute": 20, "headroom": 1}, 3.0),
     ({"per_second": 20, "per_minute": 600, "headroom": 1}, 0.1),
     ({"per_hour": 7200, "headroom": 1}, 0.5), ({"per_second": 9}, 1 / 8.1)],
)
def test_rate_limit__interval_satisfies_every_window(limit: dict[str, float],
                                                     interval: float) -> None:
    assert RateLimit(**limit).interval == pytest.approx(interval)


@pytest.mark.parametrize(
    "limit", [{}, {"per_second": 0}, {"per_day": 5}, {"per_second": 5, "headroom": 1.5}]
)
def test_rate_limit__invalid(limit: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        RateLimit(**limit)


async def test_memory_store__books_consecutive_slots() -> None:
    now = [1000.0]
    store = MemoryBudgetStore(clock=lambda: now[0])
    waits = [await store.reserve("k", 0.5) for _ in range(4)]
    assert waits == [0.0, 0.5, 1.0, 1.5]
    now[0] += 10
    assert await store.reserve("k", 0.5) == 0.0
    assert await store.reserve("other", 0.5) == 0.0


async def test_budget__sleeps_the_booked_wait_and_counts_it() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    now = [0.0]
    budget = RateBudget("k", RateLimit(per_second=4, headroom=1),
                        MemoryBudgetStore(clock=lambda: now[0]), sleep=sleep)
    for _ in range(3):
        await budget.acquire()
    assert slept == [0.25, 0.5]
    assert budget.waited == pytest.approx(0.75)


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def pull_concurrently(sandbox: Any, rate_limit: dict[str, float] | None,
                            store: MemoryBudgetStore) -> float:
    """Four jobs reading the same connection at once; returns their total budget wait."""
    config = {"base_url": sandbox.url, "api_key": sandbox.api_key, "page_size": 20,
              "rate_limit": rate_limit}
    connectors = [CrmConnector.from_dict(config, connection="crm", budget_store=store)
                  for _ in range(4)]

    async def job(crm: CrmConnector) -> tuple[int, float]:
        count = 0
        async with crm:
            async for batch in crm.read("customers"):
                count += len(batch.records)
            return count, crm.http.stats.budget_wait_s

    results = await asyncio.gather(*(job(c) for c in connectors))
    assert [count for count, _ in results] == [120] * 4
    return sum(wait for _, wait in results)


def api_request_times(sandbox: Any) -> list[float]:
    return [r["at"] for r in httpx.get(f"{sandbox.url}/_sandbox/requests").json()
            if r["path"].startswith("/api/v1/")]


async def test_budget__four_concurrent_jobs_stay_within_one_budget(crm_sandbox: Any) -> None:
    waited = await pull_concurrently(crm_sandbox, {"per_second": 10}, MemoryBudgetStore())
    times = api_request_times(crm_sandbox)
    assert len(times) == 24  # 4 jobs × 6 pages
    # The vendor's limit, judged on arrivals at the sandbox in any sliding one-second window.
    assert max_in_window(times, 1.0) <= 10
    assert waited > 1.0  # the wait is counted, for the run's status
    assert len(times) == 24


async def test_budget__without_a_limit_the_same_jobs_burst(crm_sandbox: Any) -> None:
    await pull_concurrently(crm_sandbox, None, MemoryBudgetStore())
    assert max_in_window(api_request_times(crm_sandbox), 1.0) > 10  # the check above can fail


async def test_budget__caller_waking_late_books_a_fresh_slot() -> None:
    """A stall must not turn every overdue slot into a burst."""
    now = [0.0]
    store = MemoryBudgetStore(clock=lambda: now[0])

    async def stalled_sleep(seconds: float) -> None:
        import time as real_time

        real_time.sleep(seconds + 0.3)  # woke 0.3 s late: longer than half the interval
        now[0] += seconds + 0.3

    budget = RateBudget("k", RateLimit(per_second=5, headroom=1), store, sleep=stalled_sleep)
    await store.reserve("k", 0.2)  # someone else holds the current slot
    await budget.acquire()
    # First booking (0.2) was stale on waking; the second was booked from the new "now".
    assert await store.reserve("k", 0.2) > 0.0
    assert budget.waited >= 0.4


async def test_rate_cap__admits_limit_calls_per_period_then_refuses_without_counting() -> None:
    now = [1000.0]
    cap = RateCap("token-cap", 3, 300.0, MemoryBudgetStore(clock=lambda: now[0]))
    assert [await cap.take() for _ in range(3)] == [None, None, None]  # a burst of the limit
    refused = await cap.take()
    assert refused == pytest.approx(100.0)  # until the oldest call's share of the period ends
    assert await cap.take() == pytest.approx(100.0)  # refusals are not counted
    now[0] += 100.0
    assert await cap.take() is None
    assert await cap.take() == pytest.approx(100.0)
    now[0] += 300.0  # a whole period later: the full limit again
    assert [await cap.take() for _ in range(4)] == [None, None, None, pytest.approx(100.0)]


async def test_rate_budget__a_refund_gives_a_slot_back_but_never_a_burst() -> None:
    now = [1000.0]
    store = MemoryBudgetStore(clock=lambda: now[0])
    budget = RateBudget("refunds", RateLimit(per_second=1, headroom=1), store)
    assert [await store.reserve("refunds", 1.0) for _ in range(3)] == [0.0, 1.0, 2.0]
    await budget.refund()  # the call of the last slot never reached the vendor
    assert await store.reserve("refunds", 1.0) == 2.0  # the next caller takes its slot
    now[0] += 10.0  # idle: nothing is booked ahead
    await budget.refund()
    assert [await store.reserve("refunds", 1.0) for _ in range(2)] == [0.0, 1.0]
