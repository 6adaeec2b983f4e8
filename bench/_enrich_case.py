"""What bench/enrich.py's two cases share: the tickets arriving `concurrency` at a time, and
the one JSON line each case prints about them."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Timing", "percentile", "report", "run_tickets"]


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall seconds from the first ticket's arrival to the last one's end, and this
    process's CPU seconds meanwhile."""

    wall: float
    cpu: float


async def run_tickets(tickets: Sequence[dict[str, Any]],
                      handle: Callable[[dict[str, Any]], Awaitable[Any]],
                      concurrency: int, rate: float = 0) -> Timing:
    """Hand the tickets to `handle` in order: `concurrency` in flight, a ticket arriving as
    soon as one before it is done; or, with a `rate`, one every 1/rate seconds whatever is
    in flight (the load a help desk puts on the hub, below what it can take)."""
    pending = iter(tickets)
    cpu, started = time.process_time(), time.perf_counter()

    async def arrivals() -> None:
        for ticket in pending:
            await handle(ticket)

    async def paced(n: int, ticket: dict[str, Any]) -> None:
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        await handle(ticket)

    if rate > 0:
        await asyncio.gather(*(paced(n, ticket) for n, ticket in enumerate(tickets)))
    else:
        await asyncio.gather(*(arrivals() for _ in range(concurrency)))
    return Timing(time.perf_counter() - started, time.process_time() - cpu)


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of sorted `values` (0 when there are none)."""
    if not values:
        return 0.0
    return values[min(len(values) - 1, max(0, round(share * len(values)) - 1))]


def report(timing: Timing, results: Sequence[tuple[str, float, float | None, int]]) -> str:
    """One JSON line: per ticket (status, created and enriched as epoch seconds, orders
    attached) summed up, with the latency from created to enriched in ms."""
    latencies = sorted((enriched - created) * 1000 for status, created, enriched, _ in results
                       if enriched is not None and status == "enriched")
    return json.dumps({
        "tickets": len(results), "wall": timing.wall, "cpu": timing.cpu,
        "statuses": dict(Counter(status for status, *_ in results)),
        "orders": sum(orders for *_, orders in results),
        "p50_ms": percentile(latencies, 0.50), "p90_ms": percentile(latencies, 0.90),
        "p99_ms": percentile(latencies, 0.99), "max_ms": latencies[-1] if latencies else 0.0,
    })
