"""How long each dashboard figure takes on the console's volumes (issue 21).

Seeds a fresh SQLite store (and a PostgreSQL schema, when the server at HUB_BENCH_POSTGRES_URL
answers) with bench/console_data.py — 100,000 tickets over 90 days, 10,000 runs and their
vendor calls — then times each figure of hub.reports over a 30-day window, 20 times each after
a warm-up (interleaved; `response_times` reuses its days before today for 10 minutes,
`response_times_cold` reads them again every time), and prints each one's median and p95 wall
time and its least CPU time in this process (SQLite works in it; PostgreSQL's work is the
server's). Then the whole dashboard computed (`dashboard`) and as served (`recent_dashboard`,
reused for 30 s).
Target: every figure's p95 ≤ 150 ms.

    .venv/bin/python bench/reports.py

The last line is JSON: {"bench": "reports", "p95_ms": <the slowest figure's p95, either
store, response_times_cold aside>, "target_ms": 150, "met": ..., "figures": {name: p95},
"cpu_ms": {name: least CPU}, "dashboard_p95_ms": ..., "served_p95_ms": ...,
"postgres": {...} | null, "load": <the 1-minute load average at the end>}.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.console_data import seed_console_data  # noqa: E402
from hub import reports  # noqa: E402
from hub.core.settings import Settings  # noqa: E402
from hub.runtime import Hub  # noqa: E402
from hub.store import migrate  # noqa: E402
from hub.store.engine import create_engine  # noqa: E402

POSTGRES = os.environ.get("HUB_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGET_MS = 150.0
REPEATS = 20

Figure = Callable[[Hub, reports.ReportWindow], Any]
FIGURES: dict[str, Figure] = {
    "ticket_volume": reports.ticket_volume,
    "sla_breaches": lambda hub, window: reports.sla_breaches(hub, window),
    "response_times": reports.response_times,  # its days before today reused (10 min)
    "response_times_cold": lambda hub, window: reports.response_times(hub, window,
                                                                       past_max_age_s=0),
    "enrichment_coverage": reports.enrichment_coverage,
    "sync_freshness": reports.sync_freshness,
    "writeback_health": reports.writeback_health,
    "connection_health": lambda hub, window: reports.connection_health(hub, window),
}


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def time_figures(hub: Hub, now: Any) -> dict[str, dict[str, float]]:
    window = reports.ReportWindow.ending_now(days=30, now=now)
    figures: dict[str, Figure] = {
        **FIGURES, "dashboard": lambda hub, window: reports.dashboard(hub, window),
        "served": lambda hub, _window: reports.recent_dashboard(hub, days=30)}
    timings: dict[str, list[float]] = {name: [] for name in figures}
    cpu: dict[str, list[float]] = {name: [] for name in figures}
    for figure in figures.values():
        figure(hub, window)  # warm-up: the config, the statements' compiled forms
    for _ in range(REPEATS):  # interleaved: a burst elsewhere on the machine hits all alike
        for name, figure in figures.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            figure(hub, window)
            timings[name].append((time.perf_counter() - started) * 1000)
            cpu[name].append((time.process_time() - cpu_started) * 1000)
    return {name: {"median_ms": round(statistics.median(ms), 1), "p95_ms": round(_p95(ms), 1),
                   "cpu_ms": round(min(cpu[name]), 1)} for name, ms in timings.items()}


def _hub(database_url: str) -> Hub:
    return Hub(Settings(database_url=database_url, config=ROOT / "configs/hub.yaml",
                        mappings_dir=ROOT / "mappings"))


def run(database_url: str, label: str) -> dict[str, dict[str, float]]:
    engine = create_engine(database_url)
    migrate.upgrade(engine)
    seeded = seed_console_data(engine)
    engine.dispose()
    if database_url.startswith("postgresql"):
        # As autovacuum leaves a table that has settled: statistics, and the visibility map
        # that lets the figures' covering indexes answer without reading the rows.
        vacuum = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with vacuum.connect() as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
        vacuum.dispose()
    print(f"{label}: seeded {seeded.tickets:,} tickets, {seeded.runs:,} runs, "
          f"{seeded.calls:,} calls, {seeded.outbox:,} outbox rows in {seeded.seconds} s")
    hub = _hub(database_url)
    try:
        figures = time_figures(hub, seeded.now)
    finally:
        hub.close()
    for name, figure in figures.items():
        print(f"  {name:22} median {figure['median_ms']:7.1f} ms   p95 {figure['p95_ms']:7.1f} ms"
              f"   least CPU here {figure['cpu_ms']:7.1f} ms")
    return figures


def _postgres() -> tuple[str, Callable[[], None]] | None:
    try:
        engine = sa.create_engine(POSTGRES)
        with engine.begin() as connection:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL skipped: {exc.orig}")
        return None

    def drop() -> None:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    return f"{POSTGRES}?options=-csearch_path%3D{schema}", drop


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        sqlite = run(f"sqlite:///{Path(folder) / 'hub.db'}", "SQLite")
    postgres: dict[str, dict[str, float]] | None = None
    found = _postgres()
    if found is not None:
        url, drop = found
        try:
            postgres = run(url, "PostgreSQL")
        finally:
            drop()
    served = [name for name in FIGURES if name != "response_times_cold"]
    worst = max(figures[name]["p95_ms"] for figures in (sqlite, postgres) if figures
                for name in served)
    print(json.dumps({
        "bench": "reports", "p95_ms": worst, "target_ms": TARGET_MS, "met": worst <= TARGET_MS,
        "figures": {name: sqlite[name]["p95_ms"] for name in FIGURES},
        "cpu_ms": {name: sqlite[name]["cpu_ms"] for name in FIGURES},
        "dashboard_p95_ms": sqlite["dashboard"]["p95_ms"],
        "served_p95_ms": sqlite["served"]["p95_ms"],
        "postgres": None if postgres is None else {name: f["p95_ms"]
                                                   for name, f in postgres.items()},
        "load": round(os.getloadavg()[0], 1)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
