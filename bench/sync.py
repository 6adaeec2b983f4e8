"""A pull end to end: `hub sync run` of 100,000 CRM customers into the store, beside dlt's
`rest_api` -> SQLite and a hand-written httpx + sqlite3 loop on the same data, in the same run.

    .venv/bin/python bench/sync.py              # about 3 minutes on a 2-core machine
    .venv/bin/python bench/sync.py --postgres   # the hub's store on PostgreSQL instead
    .venv/bin/python bench/sync.py --help

Each case runs in a process of its own against the CRM sandbox (its own process too), pages of
1,000, into a fresh store, and is timed from the process's start to its exit. Human-readable
lines first; the last line is one JSON object (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

from bench._server import SandboxProcess  # noqa: E402

API_KEY = "bench-sync-key"
DLT_TARGET, RAW_TARGET = 3.0, 0.5
POSTGRES_URL = os.environ.get("HUB_BENCH_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CONFIG = """
version: 1
connections:
  crm:
    type: crm
    config: {{base_url: "{url}", api_key: "{key}", page_size: {page_size}}}
jobs:
  crm_customers:
    kind: pull
    connection: crm
    stream: customers
    mapping: crm_customer
    concurrency: {concurrency}
"""


@dataclass(frozen=True, slots=True)
class Sample:
    """One run of one case: records, wall seconds, CPU seconds of the case's process and of
    the sandbox, and what the case printed (its JSON line, if any)."""

    records: int
    wall: float
    cpu: float
    server_cpu: float
    detail: dict[str, Any]

    @property
    def rps(self) -> float:
        return self.records / self.wall


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2,
                        help="rounds of the three cases, interleaved (the fastest run is kept)")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="parts of the stream the hub's job reads at once")
    parser.add_argument("--postgres", nargs="?", const=POSTGRES_URL, default=None,
                        metavar="URL", help="the hub's store on PostgreSQL (a fresh schema per "
                        f"run; default {POSTGRES_URL})")
    parser.add_argument("--dlt-python", default=os.environ.get("BENCH_DLT_PYTHON"),
                        help="a Python with dlt[sqlalchemy] installed (default: this one, "
                        "or $BENCH_DLT_PYTHON)")
    parser.add_argument("--no-dlt", action="store_true", help="skip the dlt comparison")
    return parser.parse_args()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(server: SandboxProcess, command: list[str], *, env: dict[str, str] | None = None,
           records: Callable[[dict[str, Any]], int]) -> Sample:
    """Run `command` to its end; its wall time, its CPU and the sandbox's."""
    cpu, server_cpu = _children_cpu(), server.cpu_seconds() or 0.0
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - started
    cpu, server_cpu = _children_cpu() - cpu, (server.cpu_seconds() or 0.0) - server_cpu
    if done.returncode != 0:
        raise RuntimeError(f"{command[1]} failed ({done.returncode}):\n"
                           f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    detail = json.loads(lines[-1]) if lines else {}
    return Sample(records(detail), wall, cpu, server_cpu, detail)


class HubCase:
    """`hub sync run crm_customers` into a fresh store (a SQLite file, or a PostgreSQL
    schema), migrated before the clock starts; checked after it stops."""

    def __init__(self, url: str, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.config = workdir / "hub.yaml"
        self.config.write_text(CONFIG.format(url=url, key=API_KEY, page_size=args.page_size,
                                             concurrency=args.concurrency))

    def run(self, server: SandboxProcess, n: int) -> Sample:
        home = self.workdir / f"hub-{n}"
        home.mkdir()
        schema, database_url = _store(self.args.postgres, home)
        env = {**os.environ, "HUB_DATABASE_URL": database_url, "HUB_CONFIG": str(self.config),
               "HUB_MAPPINGS_DIR": str(ROOT / "mappings"),
               "HUB_AUDIT_KEY_FILE": str(home / "audit.key"),
               "HUB_AUDIT_CHECKPOINTS": str(home / "audit.checkpoints"),
               "HUB_IMPORTS_DIR": str(home / "imports")}
        hub = _hub(env)
        try:
            hub.upgrade_db()
            sample = _timed(server, [sys.executable, "-m", "cli", "sync", "run",
                                     "crm_customers"], env=env,
                            records=lambda _detail: self.args.customers)
            detail = _check(hub, self.args.customers)
        finally:
            hub.close()
            if schema is not None:
                _drop(self.args.postgres, schema)
        return Sample(sample.records, sample.wall, sample.cpu, sample.server_cpu, detail)


def _hub(env: dict[str, str]) -> Any:
    from hub.core.settings import Settings
    from hub.runtime import Hub

    settings = {k[4:].lower(): v for k, v in env.items() if k.startswith("HUB_")
                and k[4:].lower() in Settings.model_fields}
    return Hub(Settings(**settings))


def _check(hub: Any, expected: int) -> dict[str, Any]:
    """What the run committed: every customer, raw record and audit row, the cursor, and an
    audit chain that verifies."""
    from hub.store.models import AuditRecord, Customer, ExternalRecord, Run, SyncState

    with hub.sessions() as session:
        def count(model: Any, *where: Any) -> int:
            return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

        found = {"customers": count(Customer), "raw_records": count(ExternalRecord),
                 "audited": count(AuditRecord, AuditRecord.action == "customer.create")}
        run = session.scalars(sa.select(Run)).one()
        state = session.get(SyncState, "crm_customers")
        pages = run.pages
    verified = hub.audit.verify()
    if run.status != "succeeded" or any(v != expected for v in found.values()) \
            or state is None or not verified.ok:
        raise RuntimeError(f"the hub's run did not store everything: {run.status} "
                           f"{run.error} {found} cursor={state and state.state} "
                           f"audit={verified}")
    return {**found, "pages": pages, "audit_rows_verified": verified.checked}


def _store(postgres: str | None, home: Path) -> tuple[str | None, str]:
    if postgres is None:
        return None, f"sqlite:///{home / 'hub.db'}"
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return schema, f"{postgres}?options=-csearch_path%3D{schema}"


def _drop(postgres: str, schema: str) -> None:
    engine = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _raw(server: SandboxProcess, args: argparse.Namespace, workdir: Path, n: int) -> Sample:
    db = workdir / f"raw-{n}.db"
    return _timed(server, [sys.executable, str(BENCH / "_sync_raw.py"), server.url, API_KEY,
                           str(args.page_size), str(db)],
                  records=lambda detail: int(detail["records"]))


def _dlt(server: SandboxProcess, args: argparse.Namespace, workdir: Path, n: int) -> Sample:
    work = workdir / f"dlt-{n}"
    work.mkdir()
    return _timed(server, [args.dlt_python, str(BENCH / "_sync_dlt.py"), server.url, API_KEY,
                           str(args.page_size), str(work / "dlt.db"), str(work)],
                  records=lambda detail: int(detail["records"]))


def _dlt_python(args: argparse.Namespace) -> str | None:
    if args.no_dlt:
        return None
    python = args.dlt_python or sys.executable
    probe = subprocess.run([python, "-c", "import dlt, sqlalchemy"], capture_output=True,
                           check=False)
    return python if probe.returncode == 0 else None


def _line(label: str, samples: list[Sample], pages: int) -> str:
    best = min(samples, key=lambda s: s.wall)
    return (f"  {label:<34}{best.rps:>9,.0f} rec/s  {best.wall:6.2f} s"
            f"  (runs: {', '.join(f'{s.wall:.2f}' for s in samples)} s)"
            f"  CPU per page: its process {min(s.cpu for s in samples) / pages * 1000:6.1f} ms,"
            f" sandbox {min(s.server_cpu for s in samples) / pages * 1000:5.1f} ms")


def main() -> None:
    args = _arguments()
    args.dlt_python = _dlt_python(args)
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.2f}")
    store = "postgresql" if args.postgres else "sqlite"
    pages = -(-args.customers // args.page_size)
    cases: dict[str, list[Sample]] = {"hub": [], "raw": [], "dlt": []}
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp, \
            SandboxProcess(customers=args.customers, api_key=API_KEY) as server:
        workdir = Path(tmp)
        print(f"crm sandbox in its own process: {args.customers:,} customers, ready in"
              f" {server.startup_seconds:.1f} s")
        hub_case = HubCase(server.url, args, workdir)
        for n in range(args.repeats):
            cases["hub"].append(hub_case.run(server, n))
            cases["raw"].append(_raw(server, args, workdir, n))
            if args.dlt_python:
                cases["dlt"].append(_dlt(server, args, workdir, n))
            print(f"  round {n + 1}: " + ", ".join(
                f"{key} {found[-1].wall:.2f} s" for key, found in cases.items() if found),
                flush=True)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{args.customers:,} customers in pages of {args.page_size:,}, each case in its"
          f" own process, wall time from start to exit (best of {args.repeats}):")
    print(_line(f"hub sync run -> {store}", cases["hub"], pages))
    print(_line("hand-written httpx + sqlite3", cases["raw"], pages))
    if cases["dlt"]:
        print(_line("dlt rest_api -> sqlite", cases["dlt"], pages))
        best = min(cases["dlt"], key=lambda s: s.wall).detail
        print(f"    dlt steps (in-process): extract {best['extract']:.2f} s, normalize"
              f" {best['normalize']:.2f} s, load {best['load']:.2f} s")
    else:
        print("  dlt: skipped (" + ("--no-dlt" if args.no_dlt else "no Python with "
              "dlt[sqlalchemy]: give --dlt-python") + ")")
    print(f"  hub run committed: {min(cases['hub'], key=lambda s: s.wall).detail}")
    print(json.dumps(_summary(cases, args, store)))


def _summary(cases: dict[str, list[Sample]], args: argparse.Namespace,
             store: str) -> dict[str, Any]:
    def rps(key: str) -> float | None:
        return max(s.rps for s in cases[key]) if cases[key] else None

    hub_rps, raw_rps, dlt_rps = rps("hub"), rps("raw"), rps("dlt")
    assert hub_rps is not None and raw_rps is not None
    raw_ratio = hub_rps / raw_rps
    dlt_ratio = None if dlt_rps is None else hub_rps / dlt_rps
    met = raw_ratio >= RAW_TARGET and dlt_ratio is not None and dlt_ratio >= DLT_TARGET
    return {"bench": "sync", "records": args.customers, "page_size": args.page_size,
            "store": store, "concurrency": args.concurrency, "hub_rps": round(hub_rps),
            "raw_rps": round(raw_rps), "dlt_rps": None if dlt_rps is None else round(dlt_rps),
            "raw_ratio": round(raw_ratio, 3), "raw_target": RAW_TARGET,
            "dlt_ratio": None if dlt_ratio is None else round(dlt_ratio, 2),
            "dlt_target": DLT_TARGET, "met": met}


if __name__ == "__main__":
    main()
