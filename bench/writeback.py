"""Write-back throughput through the outbox to each ERP's sandbox, 1 vs 8 concurrent sends.

For each ERP (Kingdee K/3 Cloud, Yonyou YonBIP) and each concurrency: a fresh SQLite hub,
tickets resolved with a refund, spare parts or both (a fifth get both, so the same ticket's
bills must go out in order), then one `dispatch` drains the outbox; bills/s = bills written /
dispatch time. The sandbox answers in its own process with its default latency (20 ms a call;
a Kingdee bill is save, submit, audit; a YonBIP 收款退款单 is save, audit and a 其他出库单
save, batchaudit). Afterwards the sandbox's bills are checked: no key twice (duplicates),
every write present and audited, and for each ticket with both bills the refund saved before
the parts.

    python bench/writeback.py [--erp kingdee,yonyou] [--bills 5000] [--bills-1 1000]
                              [--latency-ms 20]

The single-send runs are sized smaller by default (their rate does not depend on the count,
and 5,000 bills one at a time take minutes); pass --bills-1 5000 for the full count. The last
line is one JSON object: per ERP its rates, speed-up and checks, and `met` (every ERP at a
speed-up of at least 6 with no duplicate, order violation, unaudited bill or dead letter).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._server import ChildServer  # noqa: E402
from connectors.kingdee.sandbox.auth import Credentials  # noqa: E402
from connectors.yonyou.sandbox import APP_KEY, APP_SECRET, TENANT_ID  # noqa: E402

TARGET = 6.0
_KINGDEE = """
version: 1
connections:
  erp:
    type: kingdee
    config:
      base_url: {url}
      acct_id: {creds.acct_id}
      username: {creds.username}
      auth: password
      password: "{creds.password}"
      timeout: 30
      max_connections: 64
jobs:
  erp_refunds:
    kind: writeback
    on: refund
    connection: erp
    action: refund.create
    mapping: kingdee_refund_bill
    org: "100"
  erp_parts:
    kind: writeback
    on: parts
    connection: erp
    action: parts.consume
    mapping: kingdee_parts_outbound
    org: "100"
"""
_YONYOU = f"""
version: 1
connections:
  erp:
    type: yonyou
    config:
      base_url: {{url}}
      tenant_id: {TENANT_ID}
      app_key: {APP_KEY}
      app_secret: {APP_SECRET}
      org: "1001"
      warehouse: WH01
      timeout: 30
      max_connections: 64
jobs:
  erp_refunds:
    kind: writeback
    on: refund
    connection: erp
    action: refund.create
    mapping: yonyou_refund_bill
  erp_parts:
    kind: writeback
    on: parts
    connection: erp
    action: parts.consume
    mapping: yonyou_parts_outbound
"""


@dataclass(frozen=True)
class Erp:
    """One ERP's sandbox and how its bills are read back."""

    name: str
    config: str
    customers: int  # the sandbox's customers C001…
    materials: int  # and materials P-1001…

    def bills(self, url: str) -> list[dict[str, Any]]:
        """The hub's bills (number TK…) as {kind, number, id, audited}."""
        if self.name == "kingdee":
            base, kinds = url.split("/k3cloud/")[0], ("AR_REFUNDBILL", "STK_MisDelivery")
        else:
            base, kinds = url, ("arrefund", "othout")
        out: list[dict[str, Any]] = []
        with httpx.Client(base_url=base, timeout=60) as client:
            for kind in kinds:
                params = {"form" if self.name == "kingdee" else "kind": kind}
                found = client.get("/_sandbox/bills", params=params).json()
                records = found.get("bills", found) if isinstance(found, dict) else found
                for record in records:
                    out.extend(self._bill(kind, record))
        return out

    def _bill(self, kind: str, record: dict[str, Any]) -> list[dict[str, Any]]:
        if self.name == "kingdee":
            upper = {str(k).upper(): v for k, v in record.items()}
            number, bill_id = str(upper.get("FBILLNO", "")), int(upper["FID"])
            audited = upper.get("FDOCUMENTSTATUS") == "C"
        else:
            number, bill_id = str(record.get("code", "")), int(record["id"])
            audited = str(record.get("status")) == "1"
        return [{"kind": kind, "number": number, "id": bill_id, "audited": audited}] \
            if number.startswith("TK") else []


ERPS = {"kingdee": Erp("kingdee", _KINGDEE, 50, 100), "yonyou": Erp("yonyou", _YONYOU, 12, 8)}


def _hub(erp: Erp, workdir: Path, url: str) -> Any:
    from hub.core.settings import Settings
    from hub.runtime import Hub

    config = workdir / "hub.yaml"
    config.write_text(erp.config.format(url=url, creds=Credentials()), "utf-8")
    hub = Hub(Settings(database_url=f"sqlite:///{workdir / 'hub.db'}", config=config,
                       mappings_dir=ROOT / "mappings"))
    hub.upgrade_db()
    return hub


def _enqueue(erp: Erp, hub: Any, bills: int) -> tuple[int, list[int]]:
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
        data: dict[str, Any] = {"customer_number": f"C{(n % erp.customers) + 1:03d}"}
        kind = "both" if n % 5 == 0 and bills - rows >= 2 else ("refund" if n % 2 else "parts")
        if kind in ("both", "refund"):
            data["refund"] = {"amount": f"{10 + n % 90}.50", "method": "wire"}
        if kind in ("both", "parts"):
            data["parts"] = [{"material": f"P-{1001 + n % erp.materials}", "qty": "1"}]
        written = resolve_ticket(hub, ticket_id, Resolution.model_validate(data), actor="bench")
        rows += len(written)
        if kind == "both":
            both.append(ticket_id)
    return rows, both


def _check(erp: Erp, url: str, both: list[int]) -> dict[str, int]:
    """Duplicates, unaudited bills, and order violations (a ticket's parts saved first)."""
    bills = erp.bills(url)
    numbers = [bill["number"] for bill in bills]
    ids = {bill["number"]: bill["id"] for bill in bills}
    violations = sum(1 for ticket in both
                     if ids.get(f"TK{ticket:06d}-RF1", 0) > ids.get(f"TK{ticket:06d}-PT1", 10**12))
    return {"bills": len(bills), "duplicates": len(numbers) - len(set(numbers)),
            "order_violations": violations,
            "unaudited": sum(1 for bill in bills if not bill["audited"])}


def _run(erp: Erp, url: str, bills: int, concurrency: int) -> dict[str, Any]:
    from hub.outbox import DispatchOptions, dispatch

    with tempfile.TemporaryDirectory(prefix="bench-writeback-") as tmp:
        hub = _hub(erp, Path(tmp), url)
        try:
            rows, both = _enqueue(erp, hub, bills)
            started = time.perf_counter()
            summary = asyncio.run(dispatch(hub, options=DispatchOptions(
                concurrency=concurrency, lease_seconds=120)))
            elapsed = time.perf_counter() - started
        finally:
            hub.close()
    return {"rows": rows, "written": summary.done, "dead": summary.dead,
            "seconds": round(elapsed, 2), "rps": round(summary.done / elapsed, 1),
            "both": both}


def _bench(erp: Erp, options: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, str(ROOT / "bench" / "_erp_server.py"), "--erp", erp.name,
               "--latency-ms", str(options.latency_ms)]
    results: dict[int, dict[str, Any]] = {}
    checks = {"bills": 0, "duplicates": 0, "order_violations": 0, "unaudited": 0}
    for concurrency, bills in ((1, options.bills_1), (8, options.bills)):
        with ChildServer(command) as server:  # a fresh ERP per run: bill numbers restart
            result = _run(erp, server.url, bills, concurrency)
            check = _check(erp, server.url, result.pop("both"))
        results[concurrency] = result
        for name in checks:
            checks[name] += check[name]
        print(f"{erp.name} concurrency {concurrency}: {result['written']} bills in "  # noqa: T201
              f"{result['seconds']} s = {result['rps']} bills/s; sandbox holds "
              f"{check['bills']} bills, {check['duplicates']} duplicates, "
              f"{check['order_violations']} order violations, {check['unaudited']} not "
              "audited", flush=True)
    speedup = results[8]["rps"] / results[1]["rps"] if results[1]["rps"] else 0.0
    dead = results[1]["dead"] + results[8]["dead"]
    missing = results[1]["rows"] + results[8]["rows"] - checks["bills"]
    return {"bills_1": results[1]["written"], "bills_8": results[8]["written"],
            "rps_1": results[1]["rps"], "rps_8": results[8]["rps"],
            "speedup": round(speedup, 2), **{k: v for k, v in checks.items() if k != "bills"},
            "missing": missing, "dead_letters": dead,
            "met": speedup >= TARGET and dead == missing == 0
            and not any(checks[k] for k in ("duplicates", "order_violations", "unaudited"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--erp", default="kingdee,yonyou",
                        help="comma-separated: kingdee, yonyou (default both)")
    parser.add_argument("--bills", type=int, default=5000)
    parser.add_argument("--bills-1", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    options = parser.parse_args()
    names = [name.strip() for name in options.erp.split(",") if name.strip()]
    unknown = [name for name in names if name not in ERPS]
    if unknown or not names:
        parser.error(f"--erp: unknown {', '.join(unknown) or 'nothing'}; known: "
                     f"{', '.join(ERPS)}")
    figures = {name: _bench(ERPS[name], options) for name in names}
    line = {"bench": "writeback", "latency_ms": options.latency_ms, "target": TARGET,
            "erps": figures, "met": all(f["met"] for f in figures.values())}
    print(json.dumps(line))  # noqa: T201


if __name__ == "__main__":
    main()
