"""GET /tickets/{id}?expand=customer,orders on `hub serve` vs a bare FastAPI app.

Seeds a temporary SQLite store with customers and tickets (enrichment JSON of realistic
size), makes an admin API key with the hub's own service, starts `hub serve` and a bare
FastAPI app answering a constant body of the same size (each in a child process), then
drives them in turn from a separate load-generator process (bench/_load.py) on loopback:
`--runs` rounds (3 by default), each a run on the hub and one on the bare app, the order
alternating from round to round so a burst of load elsewhere hits both alike. The figures
are the median over the rounds; each round's are printed too.

On a machine with two CPUs or more, both servers run on one CPU and the load generator on
another (the same for the hub and the bare app): on two cores a generator sharing the
server's CPU would take turns with it on every request, and measure the scheduler.

    .venv/bin/python bench/api.py [--seconds 20] [--runs 3] [--tickets 100000]
                                  [--connections 64] [--no-pinning]

The last line is JSON: the medians (hub_rps, bare_rps, ratio, p50_ms, p99_ms...), the
targets, `met`, and each round's figures under `runs`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.core.settings import Settings  # noqa: E402
from hub.enrichment.stored import stored_enrichment  # noqa: E402
from hub.runtime import Hub  # noqa: E402
from hub.store.models import Customer, Ticket  # noqa: E402

PATH = "/tickets/{id}?expand=customer,orders"
TARGET_RATIO, TARGET_P99_MS = 0.5, 50.0
WARM_UP_SECONDS = 3.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _history(rng: random.Random, now: datetime) -> dict[str, Any]:
    orders = [{"order_no": f"SO{rng.randint(10**8, 10**9)}", "status": rng.choice(
        ["已发货", "已完成", "已退款"]), "total": f"{rng.randint(50, 5000)}.00",
        "ordered_at": (now - timedelta(days=rng.randint(1, 400))).isoformat(),
        "items": [{"sku": f"SKU-{rng.randint(1000, 9999)}", "name": "扫地机器人 X20 Pro",
                   "qty": rng.randint(1, 3), "price": f"{rng.randint(50, 3000)}.00"}
                  for _ in range(2)]} for _ in range(5)]
    interactions = [{"at": (now - timedelta(days=d)).isoformat(), "channel": "phone",
                     "note": "客户来电咨询退款进度，已告知 1-3 个工作日到账"} for d in range(3)]
    return {"orders": orders, "interactions": interactions}


def seed(url: str, tickets: int) -> None:
    """Customers and tickets through Core executemany (the ORM is 20× slower here)."""
    hub = Hub(Settings(database_url=url))
    hub.upgrade_db()
    rng, now = random.Random(7), datetime.now(UTC)
    customers = max(1, tickets // 5)
    rows = [{"id": i, "source": "crm", "external_id": f"C{i:07d}", "name": f"客户{i}",
             "company": f"公司{i % 997}", "mobile": f"138{i:08d}"[:11],
             "email": f"c{i}@example.com", "tier": rng.choice(["gold", "silver", "basic"]),
             "attributes": {"city": "上海", "vip_since": "2021-03-01"}, "content_hash": "x",
             "mapping": "crm_customers@1", "created_at": now, "updated_at": now}
            for i in range(1, customers + 1)]
    with hub.engine.begin() as conn:
        conn.execute(sa.insert(Customer), rows)
        batch: list[dict[str, Any]] = []
        for i in range(1, tickets + 1):
            customer = rows[(i - 1) % customers]
            profile = {k: customer[k] for k in ("id", "source", "external_id", "name",
                                                "company", "mobile", "email", "tier",
                                                "mapping", "attributes")}
            history = _history(rng, now)
            batch.append({
                "id": i, "subject": f"退款没到账 #{i}", "description": "订单退款 5 天未到账",
                "channel": "api", "status": "open", "contact_name": customer["name"],
                "contact_mobile": customer["mobile"], "contact_email": customer["email"],
                "customer_id": customer["id"], "enrichment_status": "ok",
                # as the enrichment pipeline stores it
                "enrichment": stored_enrichment({
                    "customer": profile, "history": history,
                    "summary": {"orders": 5, "total_spent": "1234.00",
                                "last_order_at": now.isoformat(), "interactions": 3},
                    "sources": [{"connection": "crm", "status": "ok",
                                 "fetched_at": now.isoformat()}]}),
                "enriched_at": now, "priority": "normal", "resolutions": 0,
                "created_at": now, "updated_at": now})
            if len(batch) == 5000:
                conn.execute(sa.insert(Ticket), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(Ticket), batch)
    hub.close()


def admin_key(url: str) -> dict[str, str]:
    from hub.access.apikeys import create_key

    hub = Hub(Settings(database_url=url))
    try:
        created = create_key(hub, name="bench", role="admin", scopes=("pii",), actor="bench")
    finally:
        hub.close()
    return {"X-API-Key": created.key}


@dataclass(frozen=True)
class Placement:
    """Where the processes run: both servers on `server_cpu`, the generator on
    `client_cpu` (None: wherever the scheduler puts them)."""

    server_cpu: int | None = None
    client_cpu: int | None = None

    @classmethod
    def choose(cls, *, pinning: bool) -> Placement:
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        if not pinning or len(cpus) < 2:
            return cls()
        return cls(server_cpu=cpus[-1], client_cpu=cpus[0])

    def describe(self) -> str:
        if self.server_cpu is None:
            return "not pinned"
        return f"servers on CPU {self.server_cpu}, load generator on CPU {self.client_cpu}"


def _pin(pid: int, cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(pid, {cpu})


def _cpu_seconds(pid: int) -> float | None:
    """A process's user + system CPU time (Linux: /proc), or None where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A server in a child process: where it answers, its id, how to stop it."""

    label: str
    base: str
    proc: subprocess.Popen[bytes]
    headers: dict[str, str]

    def cpu_seconds(self) -> float | None:
        return _cpu_seconds(self.proc.pid)


def _wait(url: str, headers: dict[str, str], proc: subprocess.Popen[bytes]) -> bytes:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            response = httpx.get(url, headers=headers, timeout=5)
            if response.status_code == 200:
                return response.content
            raise SystemExit(f"{url}: {response.status_code} {response.text[:300]}")
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url}: no answer")


@contextmanager
def serving(label: str, command: list[str], headers: dict[str, str], *, log: Path,
            placement: Placement, env: dict[str, str] | None = None
            ) -> Iterator[tuple[Server, bytes]]:
    """Run a server (its stderr to `log`) until the block ends; yields it and its answer to
    the first ticket."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as stderr:
        proc = subprocess.Popen([*command, "--port", str(port)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            _pin(proc.pid, placement.server_cpu)
            body = _wait(base + PATH.format(id=1), headers, proc)
            yield Server(label, base, proc, headers), body
        finally:
            proc.terminate()
            proc.wait(10)


def drive(server: Server, args: argparse.Namespace, placement: Placement, *,
          seconds: float) -> dict[str, float]:
    """One run of the load generator on `server`: its figures, and the server's CPU time
    per request (ms) when the platform tells it."""
    command = [sys.executable, str(ROOT / "bench/_load.py"), server.base + PATH, "--ids",
               str(args.tickets), "--connections", str(args.connections),
               "--seconds", str(seconds)]
    for name, value in server.headers.items():
        command += ["--header", f"{name}: {value}"]
    cpu_before = server.cpu_seconds()
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        _pin(proc.pid, placement.client_cpu)
        out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"the load generator exited with {proc.returncode}")
    cpu_after = server.cpu_seconds()
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    if cpu_before is not None and cpu_after is not None and result["requests"]:
        result["server_cpu_ms"] = (cpu_after - cpu_before) / result["requests"] * 1000
    return result


def _round(hub: dict[str, float], bare: dict[str, float]) -> dict[str, float | None]:
    def cpu(run: dict[str, float], key: str) -> float | None:
        value = run.get(key)
        return None if value is None else round(value, 3)

    return {"hub_rps": round(hub["rps"], 1), "bare_rps": round(bare["rps"], 1),
            "ratio": round(hub["rps"] / bare["rps"], 3),
            "p50_ms": round(hub["p50_ms"], 2), "p99_ms": round(hub["p99_ms"], 2),
            "bare_p50_ms": round(bare["p50_ms"], 2), "bare_p99_ms": round(bare["p99_ms"], 2),
            "hub_cpu_ms": cpu(hub, "server_cpu_ms"), "bare_cpu_ms": cpu(bare, "server_cpu_ms"),
            "client_cpu_ms": cpu(hub, "client_cpu_ms"),
            "bare_client_cpu_ms": cpu(bare, "client_cpu_ms"),
            "errors": hub["errors"] + bare["errors"]}


def _median(rounds: list[dict[str, float | None]], key: str) -> float | None:
    values = [value for r in rounds if (value := r[key]) is not None]
    return round(statistics.median(values), 3) if values else None


def _line(label: str, run: dict[str, float]) -> str:
    cpu = run.get("server_cpu_ms")
    return (f"  {label}: {run['rps']:7.0f} req/s  p50 {run['p50_ms']:5.1f} ms  "
            f"p99 {run['p99_ms']:5.1f} ms  errors {run['errors']:.0f}  CPU/request: server "
            f"{'  n/a' if cpu is None else f'{cpu:5.3f}'} ms, "
            f"load generator {run['client_cpu_ms']:5.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--no-pinning", dest="pinning", action="store_false",
                        help="let the scheduler place the servers and the load generator")
    args = parser.parse_args()
    placement = Placement.choose(pinning=args.pinning)
    rounds: list[dict[str, float | None]] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        url = f"sqlite:///{Path(tmp) / 'hub.db'}"
        started = time.perf_counter()
        seed(url, args.tickets)
        print(f"seeded {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s")
        headers = admin_key(url)
        # The read path needs no connection; `hub serve` refuses a config that does not load.
        config = Path(tmp) / "hub.yaml"
        config.write_text("version: 1\nconnections: {}\n", encoding="utf-8")
        env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_CONFIG": str(config)}
        hub, body = stack.enter_context(serving(
            "hub ", [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())", "serve"],
            headers, log=Path(tmp) / "hub.log", placement=placement, env=env))
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        bare, _ = stack.enter_context(serving(
            "bare", [sys.executable, str(ROOT / "bench/_bare_api.py"), "--body",
                     str(body_file)], {}, log=Path(tmp) / "bare.log", placement=placement))
        print(f"body {len(body)} B; {placement.describe()}; "
              f"load average {load_before[0]:.2f} on {os.cpu_count()} CPUs")
        for server in (hub, bare):  # a warm page cache and warm code for both
            drive(server, args, placement, seconds=WARM_UP_SECONDS)
        for number in range(1, args.runs + 1):
            order = (hub, bare) if number % 2 else (bare, hub)
            runs = {server.label: drive(server, args, placement, seconds=args.seconds)
                    for server in order}
            rounds.append(_round(runs["hub "], runs["bare"]))
            print(f"round {number}: ratio {rounds[-1]['ratio']:.3f}")
            for label in ("hub ", "bare"):
                print(_line(label, runs[label]))
    medians = {key: _median(rounds, key) for key in rounds[0] if key != "errors"}
    ratio, p99 = medians["ratio"], medians["p99_ms"]
    assert ratio is not None and p99 is not None
    print(json.dumps({
        "bench": "api", **medians, "target": TARGET_RATIO, "p99_target_ms": TARGET_P99_MS,
        "errors": sum(r["errors"] or 0 for r in rounds), "seconds": args.seconds,
        "connections": args.connections, "pinned": placement.server_cpu is not None,
        "load_average": round(load_before[0], 2), "runs": rounds,
        "met": ratio >= TARGET_RATIO and p99 <= TARGET_P99_MS}))


if __name__ == "__main__":
    main()
