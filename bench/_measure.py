"""Timing one benchmark run: wall clock, this process's CPU, and the sandbox's CPU."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Sample", "Series", "measure"]


class Server(Protocol):
    def cpu_seconds(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Sample:
    """One run: what it fetched, its wall time, and CPU seconds on each side."""

    records: int
    requests: int
    wall: float
    client_cpu: float
    server_cpu: float | None

    @property
    def rps(self) -> float:
        return self.records / self.wall


@dataclass
class Series:
    """The repeated runs of one case; figures are taken from the fastest run."""

    label: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def best(self) -> Sample:
        return min(self.samples, key=lambda s: s.wall)

    @property
    def median_rps(self) -> float:
        return statistics.median(s.rps for s in self.samples)

    @property
    def client_ms_per_request(self) -> float:
        """Least client CPU per request over the runs (CPU noise only ever adds)."""
        return min(s.client_cpu / s.requests for s in self.samples) * 1000

    @property
    def server_ms_per_request(self) -> float | None:
        cpus = [s.server_cpu / s.requests for s in self.samples if s.server_cpu is not None]
        return min(cpus) * 1000 if cpus else None

    def line(self) -> str:
        best = self.best
        server = self.server_ms_per_request
        shown_server = "   n/a" if server is None else f"{server:6.2f}"
        share = ""
        if best.server_cpu is not None:
            share = f"  server busy {best.server_cpu / best.wall:4.0%}"
        return (f"  {self.label:<26} {best.rps:>9,.0f} rec/s (median {self.median_rps:>7,.0f})"
                f"  {best.wall:6.2f} s  CPU/request: client {self.client_ms_per_request:6.2f} ms,"
                f" server {shown_server} ms{share}")


def measure(
    server: Server,
    pull: Callable[[], Coroutine[Any, Any, tuple[int, int]]],
    *,
    expect: int | None = None,
) -> Sample:
    """Run `pull()` in a fresh event loop and time it; check it got `expect` records."""
    server_before = server.cpu_seconds()
    cpu_before, started = time.process_time(), time.perf_counter()
    records, requests = asyncio.run(pull())
    wall = time.perf_counter() - started
    client_cpu = time.process_time() - cpu_before
    server_after = server.cpu_seconds()
    if expect is not None and records != expect:
        raise RuntimeError(f"pulled {records} records, expected {expect}")
    server_cpu = None if server_before is None or server_after is None else (
        server_after - server_before)
    return Sample(records, requests, wall, client_cpu, server_cpu)
