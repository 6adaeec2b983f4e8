"""The same pull through 1, then 2 Celery workers: does the job engine scale out?

Starts the CRM sandbox with 200,000 customers in a process of its own, answering every page
after 20 ms, and for each worker count: a fresh PostgreSQL schema, that many `hub worker`
processes (solo pool: one task at a time each) on Redis, then the pull job fired as the
scheduler fires it (`CeleryExecutor.submit`) and timed until its run closes. The job is the
same both times (2 readers at once, 64 parts); only the number of workers changes. Checks
that every customer is stored exactly once.

    .venv/bin/python bench/scale.py [--records 200000] [--latency-ms 20] [--page-size 200]

The last line is JSON: rps_1, rps_2, speedup (target >= 1.7), met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._server import SandboxProcess  # noqa: E402

POSTGRES = os.environ.get("HUB_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("HUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
API_KEY = "bench-scale-key"
TARGET = 1.7
CONFIG = """
version: 1
connections:
  crm:
    type: crm
    config: {{base_url: "{url}", api_key: "{key}", page_size: {page_size}}}
jobs:
  customers:
    kind: pull
    connection: crm
    stream: customers
    mapping: crm_customer
    concurrency: 2
    slices: {slices}
"""


def _machine_cpu() -> float:
    """CPU seconds every core of this machine has spent busy so far (/proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(v) for v in fields]
    idle = ticks[3] + ticks[4]
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """CPU seconds of process `pid` and its waited-for children (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _schema() -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return schema, f"{POSTGRES}?options=-csearch_path%3D{schema}"


def _drop(schema: str) -> None:
    engine = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _start_workers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen[bytes]]:
    workers = []
    for n in range(count):
        with (logs / f"worker{n}.log").open("wb") as log:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "cli", "worker", "--pool", "solo",
                 "--name", f"bench{n}@scale"], env=env, cwd=ROOT, stdout=log,
                stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 60
    while not all("ready" in (logs / f"worker{n}.log").read_text(errors="replace")
                  for n in range(count)):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            _stop(workers)
            raise RuntimeError("workers did not start: " + "".join(
                (logs / f"worker{n}.log").read_text(errors="replace")[-2000:]
                for n in range(count)))
        time.sleep(0.1)
    return workers


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _pull(workers: int, url: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from hub.core.settings import Settings
    from hub.runtime import Hub
    from hub.scheduler.celery_app import CeleryExecutor, make_app
    from hub.store.models import Customer, Run

    schema, database_url = _schema()
    config = workdir / f"hub-{workers}.yaml"
    config.write_text(CONFIG.format(url=url, key=API_KEY, page_size=args.page_size,
                                    slices=args.slices))
    settings: dict[str, Any] = {
        "database_url": database_url, "config": config, "mappings_dir": ROOT / "mappings",
        "broker_url": REDIS, "celery_queue": f"bench-{uuid.uuid4().hex[:8]}",
        "rate_budget_store": "memory"}
    hub = Hub(Settings(**settings))
    hub.upgrade_db()
    env = {**os.environ, **{f"HUB_{k.upper()}": str(v) for k, v in settings.items()},
           "HUB_LOG_LEVEL": "INFO"}  # the worker says "ready" at INFO
    logs = workdir / f"logs-{workers}"
    logs.mkdir()
    processes = _start_workers(workers, env, logs)
    try:
        executor = CeleryExecutor(hub, make_app(hub.settings))
        machine, workers_cpu = _machine_cpu(), sum(_process_cpu(w.pid) for w in processes)
        started = time.perf_counter()
        asyncio.run(executor.submit("customers", "manual"))
        while True:
            with hub.sessions() as session:
                run = session.scalars(sa.select(Run)).one()
                if run.status != "running":
                    break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        machine = _machine_cpu() - machine
        workers_cpu = sum(_process_cpu(w.pid) for w in processes) - workers_cpu
        with hub.sessions() as session:
            stored = session.scalar(sa.select(sa.func.count()).select_from(Customer))
    finally:
        _stop(processes)
        hub.close()
        _drop(schema)
    if run.status != "succeeded" or stored != args.records:
        raise RuntimeError(f"{workers} worker(s): run {run.status} ({run.error}), "
                           f"{stored} of {args.records} customers stored")
    rps = args.records / seconds
    cores = os.cpu_count() or 1
    print(f"{workers} worker(s): {args.records:,} records in {seconds:.1f}s = {rps:,.0f}/s "
          f"({run.pages} pages, {run.slices} parts); machine {machine / seconds:.2f} of "
          f"{cores} cores busy, the workers {workers_cpu / seconds:.2f}, CPU per page: "
          f"workers {workers_cpu / run.pages * 1000:.0f} ms, everything "
          f"{machine / run.pages * 1000:.0f} ms", flush=True)
    return {"seconds": round(seconds, 2), "rps": round(rps, 1),
            "cores_busy": round(machine / seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--slices", type=int, default=64)
    args = parser.parse_args()
    print(f"starting the CRM sandbox with {args.records:,} customers…", flush=True)
    with SandboxProcess(customers=args.records, api_key=API_KEY) as sandbox, \
            tempfile.TemporaryDirectory() as tmp:
        httpx.post(f"{sandbox.url}/_sandbox/faults",
                   json={"count": 0, "latency_ms": args.latency_ms}).raise_for_status()
        one = _pull(1, sandbox.url, args, Path(tmp))
        two = _pull(2, sandbox.url, args, Path(tmp))
    speedup = two["rps"] / one["rps"]
    print(json.dumps({"bench": "scale", "records": args.records, "page_size": args.page_size,
                      "latency_ms": args.latency_ms, "slices": args.slices,
                      "seconds_1": one["seconds"], "seconds_2": two["seconds"],
                      "rps_1": one["rps"], "rps_2": two["rps"], "speedup": round(speedup, 2),
                      "cores_busy_1": one["cores_busy"], "cores_busy_2": two["cores_busy"],
                      "target": TARGET, "met": speedup >= TARGET}))


if __name__ == "__main__":
    main()
