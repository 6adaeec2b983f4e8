"""Write-back throughput through the outbox to the Kingdee sandbox, 1 vs 8 concurrent sends.

Each run: a fresh SQLite hub, tickets resolved with a refund, spare parts or both (a fifth
get both, so the same ticket's bills must go out in order), then one `dispatch` drains the
outbox; bills/s = bills written / dispatch time. The sandbox answers in its own process with
its default latency (20 ms a call; each bill is save, submit, audit). Afterwards the sandbox's
bills are checked: no key twice (duplicates), every write present, and for each ticket with
both bills the refund saved before the parts (FID order).

    python bench/writeback.py [--bills 5000] [--bills-1 1000] [--latency-ms 20]

The single-send run is sized smaller by default (its rate does not depend on the count, and
5,000 bills at one at a time take minutes); pass --bills-1 5000 for the full count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._server import ChildServer  # noqa: E402
from connectors.kingdee.sandbox.auth import Credentials  # noqa: E402

CONFIG = """
version: 1
connections:
  kingdee:
    type: kingdee
    config:
      base_url: {url}
      acct_id: {acct_id}
      username: {username}
      auth: password
      password: "{password}"
      timeout: 30
      max_connections: 64
jobs:
  erp_refunds:
    kind: writeback
    on: refund
    connection: kingdee
    action: refund.create
    mapping: kingdee_refund_bill
    org: "100"
  erp_parts:
    kind: writeback
    on: parts
    connection: kingdee
    action: parts.consume
    mapping: kingdee_parts_outbound
    org: "100"
"""


def _hub(workdir: Path, url: str) -> Any:
    from hub.core.settings import Settings
    from hub.runtime import Hub

    creds = Credentials()
    config = workdir / "hub.yaml"
    config.write_text(CONFIG.format(url=url, acct_id=creds.acct_id, username=creds.username,
                                    password=creds.password), "utf-8")
    hub = Hub(Settings(database_url=f"sqlite:///{workdir / 'hub.db'}", config=config,
                       mappings_dir=ROOT / "mappings"))
    hub.upgrade_db()
    return hub


def _enqueue(hub: Any, bills: int) -> tuple[int, list[int]]:
    """Resolve tickets until `bills` write-backs are owed; returns (rows, tickets with both)."""
    from datetime import UTC, datetime

    from hub.outbox import Resolution
    from hub.store.models import Ticket
    from hub.tickets.resolve import resolve_ticket

    rows, both, n = 0, [], 0
    while rows < bills:
        n += 1
        now = datetime.now(UTC)
        with hub.sessions.begin() as session:
            ticket = Ticket(subject=f"bench {n}", description="", channel="api",
                            created_at=now, updated_at=now)
            session.add(ticket)
            session.flush()
            ticket_id = ticket.id
        customer = f"C{(n % 50) + 1:03d}"
        data: dict[str, Any] = {"customer_number": customer}
        kind = "both" if n % 5 == 0 and bills - rows >= 2 else ("refund" if n % 2 else "parts")
        if kind in ("both", "refund"):
            data["refund"] = {"amount": f"{10 + n % 90}.50", "method": "wire"}
        if kind in ("both", "parts"):
            data["parts"] = [{"material": f"P-{1001 + n % 100}", "qty": "1"}]
        written = resolve_ticket(hub, ticket_id, Resolution.model_validate(data), actor="bench")
        rows += len(written)
        if kind == "both":
            both.append(ticket_id)
    return rows, both


def _check(url: str, both: list[int]) -> dict[str, Any]:
    """Duplicates, and order violations: for tickets with both bills, parts saved first."""
    base = url.split("/k3cloud/")[0]
    bills: list[dict[str, Any]] = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for form in ("AR_REFUNDBILL", "STK_MisDelivery"):
            found = client.get("/_sandbox/bills", params={"form": form}).json()
            records = found.get("bills", found) if isinstance(found, dict) else found
            for record in records:
                upper = {str(k).upper(): v for k, v in record.items()}
                if str(upper.get("FBILLNO", "")).startswith("TK"):
                    bills.append({"form": form, **upper})
    numbers = [bill["FBILLNO"] for bill in bills]
    fid = {bill["FBILLNO"]: int(bill["FID"]) for bill in bills}
    violations = sum(
        1 for ticket in both
        if fid.get(f"TK{ticket:06d}-RF1", 0) > fid.get(f"TK{ticket:06d}-PT1", 10**12))
    unaudited = sum(1 for bill in bills if bill.get("FDOCUMENTSTATUS") != "C")
    return {"bills": len(bills), "duplicates": len(numbers) - len(set(numbers)),
            "order_violations": violations, "unaudited": unaudited}


def _run(url: str, bills: int, concurrency: int) -> dict[str, Any]:
    from hub.outbox import DispatchOptions, dispatch

    with tempfile.TemporaryDirectory(prefix="bench-writeback-") as tmp:
        hub = _hub(Path(tmp), url)
        try:
            rows, both = _enqueue(hub, bills)
            started = time.perf_counter()
            summary = asyncio.run(dispatch(hub, options=DispatchOptions(
                concurrency=concurrency, lease_seconds=120)))
            elapsed = time.perf_counter() - started
        finally:
            hub.close()
    return {"rows": rows, "written": summary.done, "dead": summary.dead,
            "seconds": round(elapsed, 2), "rps": round(summary.done / elapsed, 1),
            "both": both}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=5000)
    parser.add_argument("--bills-1", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    options = parser.parse_args()
    command = [sys.executable, str(ROOT / "bench" / "_erp_server.py"),
               "--latency-ms", str(options.latency_ms)]
    results: dict[int, dict[str, Any]] = {}
    checks: dict[str, int] = {"bills": 0, "duplicates": 0, "order_violations": 0,
                              "unaudited": 0}
    for concurrency, bills in ((1, options.bills_1), (8, options.bills)):
        with ChildServer(command) as server:  # a fresh ERP per run: bill numbers restart
            result = _run(server.url, bills, concurrency)
            check = _check(server.url, result.pop("both"))
        results[concurrency] = result
        for name in checks:
            checks[name] += check[name]
        print(f"concurrency {concurrency}: {result['written']} bills in {result['seconds']} s "
              f"= {result['rps']} bills/s; sandbox holds {check['bills']} bills, "
              f"{check['duplicates']} duplicates, {check['order_violations']} order "
              f"violations, {check['unaudited']} not audited", flush=True)
    speedup = results[8]["rps"] / results[1]["rps"] if results[1]["rps"] else 0.0
    line = {"bench": "writeback", "bills_1": results[1]["written"],
            "bills_8": results[8]["written"], "latency_ms": options.latency_ms,
            "rps_1": results[1]["rps"], "rps_8": results[8]["rps"],
            "speedup": round(speedup, 2), "duplicates": checks["duplicates"],
            "order_violations": checks["order_violations"],
            "dead_letters": results[1]["dead"] + results[8]["dead"],
            "target": 6.0,
            "met": speedup >= 6.0 and checks["duplicates"] == 0
            and checks["order_violations"] == 0}
    print(json.dumps(line))


if __name__ == "__main__":
    main()
