"""GET /tickets/{id}?expand=customer,orders on `hub serve` vs a bare FastAPI app.

Seeds a temporary SQLite store with customers and tickets (enrichment JSON of realistic
size), makes an admin API key with the hub's own service, starts `hub serve` in a child
process and, in the same run, a bare FastAPI app answering a constant body of the same size;
drives each from a separate load-generator process (bench/_load.py) on loopback.

    .venv/bin/python bench/api.py [--seconds 20] [--tickets 100000] [--connections 64]

The last line is JSON: hub_rps, bare_rps, ratio, p50_ms, p99_ms (the hub's), targets, met.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.core.settings import Settings  # noqa: E402
from hub.runtime import Hub  # noqa: E402
from hub.store.models import Customer, Ticket  # noqa: E402

PATH = "/tickets/{id}?expand=customer,orders"
TARGET_RATIO, TARGET_P99_MS = 0.5, 50.0


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
                "enrichment": {"customer": profile, "history": history,
                               "summary": {"orders": 5, "total_spent": "1234.00",
                                           "last_order_at": now.isoformat(),
                                           "interactions": 3},
                               "sources": [{"connection": "crm", "status": "ok",
                                            "fetched_at": now.isoformat()}]},
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
def serving(command: list[str], url: str, headers: dict[str, str], *, log: Path,
            env: dict[str, str] | None = None) -> Iterator[bytes]:
    """Run a server (its stderr to `log`) until the block ends; yields its answer to `url`."""
    with log.open("wb") as stderr:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=stderr)
        try:
            body = _wait(url, headers, proc)
            yield body
        finally:
            proc.terminate()
            proc.wait(10)


def drive(base: str, headers: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, str(ROOT / "bench/_load.py"), base + PATH, "--ids",
               str(args.tickets), "--connections", str(args.connections),
               "--seconds", str(args.seconds)]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'hub.db'}"
        started = time.perf_counter()
        seed(url, args.tickets)
        print(f"seeded {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s")
        headers = admin_key(url)
        # The read path needs no connection; `hub serve` refuses a config that does not load.
        config = Path(tmp) / "hub.yaml"
        config.write_text("version: 1\nconnections: {}\n", encoding="utf-8")
        env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_CONFIG": str(config)}
        base = f"http://127.0.0.1:{_free_port()}"
        with serving([sys.executable, "-c", "import sys, cli; sys.exit(cli.main())", "serve",
                      "--port", base.rsplit(":", 1)[1]],
                     base + PATH.format(id=1), headers, log=Path(tmp) / "hub.log",
                     env=env) as body:
            hub = drive(base, headers, args)
        print(f"hub : {hub['rps']:8.0f} req/s  p50 {hub['p50_ms']:.1f} ms  "
              f"p99 {hub['p99_ms']:.1f} ms  errors {hub['errors']:.0f}  body {len(body)} B")
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        base = f"http://127.0.0.1:{_free_port()}"
        with serving([sys.executable, str(ROOT / "bench/_bare_api.py"), "--port",
                      base.rsplit(":", 1)[1], "--body", str(body_file)],
                     base + PATH.format(id=1), {}, log=Path(tmp) / "bare.log"):
            bare = drive(base, {}, args)
        print(f"bare: {bare['rps']:8.0f} req/s  p50 {bare['p50_ms']:.1f} ms  "
              f"p99 {bare['p99_ms']:.1f} ms  body {bare['bytes']:.0f} B")
    ratio = hub["rps"] / bare["rps"]
    print(json.dumps({"bench": "api", "hub_rps": round(hub["rps"], 1),
                      "bare_rps": round(bare["rps"], 1), "ratio": round(ratio, 3),
                      "p50_ms": round(hub["p50_ms"], 2), "p99_ms": round(hub["p99_ms"], 2),
                      "bare_p50_ms": round(bare["p50_ms"], 2),
                      "bare_p99_ms": round(bare["p99_ms"], 2), "errors": hub["errors"],
                      "target_ratio": TARGET_RATIO, "target_p99_ms": TARGET_P99_MS,
                      "met": ratio >= TARGET_RATIO and hub["p99_ms"] <= TARGET_P99_MS}))


if __name__ == "__main__":
    main()
