"""Tickets enriched through a declarative `rest` connection, beside hand-written httpx calls
doing the same lookups, against the CRM sandbox with a latency on every request.

    .venv/bin/python bench/enrich.py            # about 2.5 minutes on a 2-core machine
    .venv/bin/python bench/enrich.py --help

The sandbox (its own process) holds the customers; each request to its API waits
`--latency-ms` first. The tickets (`--tickets` of `--customers`, each customer's contact by
mobile or by e-mail, in a shuffled order) arrive `--concurrency` at a time, a new one as soon
as one is done. Each case runs in a process of its own, on a fresh store and an empty cache:
bench/_enrich_hub.py (the hub: `create_ticket`, as `POST /tickets` calls it, with its inline
enrichment and queue) and bench/_enrich_raw.py (httpx + sqlite3). The sandbox counts the
requests per customer. Human-readable lines first; the last line is one JSON object (see
bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

from bench._server import SandboxProcess  # noqa: E402

API_KEY = "bench-enrich-key"
RATIO_TARGET, P99_TARGET_MS = 0.8, 100.0
NOBODY = "13000000000"  # the warm-up ticket's mobile: no customer's
CASES = {"hub": BENCH / "_enrich_hub.py", "raw": BENCH / "_enrich_raw.py"}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=20,
                        help="the sandbox waits this long before answering each request")
    parser.add_argument("--concurrency", type=int, default=8, help="tickets in flight")
    parser.add_argument("--cache-ttl", type=int, default=900, help="seconds (the job's default)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="rounds of the two cases, interleaved (the fastest run is kept)")
    parser.add_argument("--paced-rate", type=float, default=25,
                        help="then one run of each case with a ticket arriving every 1/rate s,"
                             " whatever is in flight (0: none)")
    parser.add_argument("--seed", type=int, default=24)
    return parser.parse_args()


def _tickets(url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The warm-up ticket, then `--tickets` of the sandbox's customers in a shuffled order:
    each customer's first, third … by mobile, the others by e-mail where they have one."""
    answer = httpx.get(f"{url}/api/v1/customers", params={"limit": args.customers},
                       headers={"X-API-Key": API_KEY})
    customers = answer.raise_for_status().json()["data"]
    if len(customers) != args.customers or any(
            c["contact"]["mobile"] == NOBODY for c in customers):
        raise RuntimeError("the sandbox's customers are not what the bench expects")
    tickets = []
    for n in range(args.tickets):
        contact = customers[n % len(customers)]["contact"]
        by_email = (n // len(customers)) % 2 == 1 and contact.get("email")
        tickets.append({"subject": f"工单 {n}: 设备故障", "channel": "api",
                        **({"contact_email": contact["email"]} if by_email
                           else {"contact_mobile": contact["mobile"]})})
    random.Random(args.seed).shuffle(tickets)
    return [{"subject": "warm-up", "channel": "api", "contact_mobile": NOBODY}, *tickets]


def _run_case(case: str, server: SandboxProcess, tickets_file: Path,
              args: argparse.Namespace, rate: float = 0) -> dict[str, Any]:
    """One run of one case in its own process, with what the sandbox saw meanwhile."""
    httpx.delete(f"{server.url}/_sandbox/requests").raise_for_status()
    workdir = Path(tempfile.mkdtemp(prefix=f"hub-bench-enrich-{case}-"))
    target = workdir if case == "hub" else workdir / "raw.db"
    server_cpu = server.cpu_seconds() or 0.0
    done = subprocess.run(
        [sys.executable, str(CASES[case]), server.url, API_KEY, str(tickets_file), str(target),
         str(args.concurrency), str(args.cache_ttl), str(rate)],
        check=True, stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["server_cpu"] = (server.cpu_seconds() or 0.0) - server_cpu
    counts = httpx.get(f"{server.url}/_sandbox/requests/per-customer").json()
    fetches = [max(asked.get("orders", 0), asked.get("interactions", 0))
               for asked in counts.values()]
    log = httpx.get(f"{server.url}/_sandbox/requests").json()
    result.update(
        rate=result["tickets"] / result["wall"], customers_fetched=len(fetches),
        fetches_max=max(fetches, default=0), fetches_per_ttl=_fetches_per_ttl(log, args),
        finds=sum(asked.get("find", 0) for asked in counts.values()), requests=len(log))
    return result


def _fetches_per_ttl(log: list[dict[str, Any]], args: argparse.Namespace) -> int:
    """The most orders listings the sandbox answered for one customer within any window of
    one cache TTL (from the arrival times it logged)."""
    times: dict[str, list[float]] = {}
    for entry in log:
        parts = entry["path"].split("/")  # "", api, v1, customers, {id}, orders
        if len(parts) == 6 and parts[3] == "customers" and parts[5] == "orders":
            times.setdefault(parts[4], []).append(entry["at"])
    most = 0
    for arrived in times.values():
        arrived.sort()
        first = 0
        for last, at in enumerate(arrived):
            while at - arrived[first] >= args.cache_ttl:
                first += 1
            most = max(most, last - first + 1)
    return most


def _line(case: str, run: dict[str, Any]) -> str:
    per_ticket = 1000 / run["tickets"]
    return (f"  {case:<4} {run['tickets']} tickets in {run['wall']:5.2f} s = {run['rate']:7.1f}/s"
            f"  latency p50 {run['p50_ms']:6.1f} p90 {run['p90_ms']:6.1f}"
            f" p99 {run['p99_ms']:6.1f} max {run['max_ms']:6.1f} ms  {run['statuses']}"
            f"  orders {run['orders']}  requests {run['requests']} (finds {run['finds']},"
            f" history fetches per customer <= {run['fetches_max']},"
            f" per TTL <= {run['fetches_per_ttl']})"
            f"  CPU/ticket: case {run['cpu'] * per_ticket:5.2f} ms,"
            f" sandbox {run['server_cpu'] * per_ticket:5.2f} ms")


def main() -> None:
    args = _arguments()
    runs: dict[str, list[dict[str, Any]]] = {case: [] for case in CASES}
    paced: dict[str, dict[str, Any]] = {}
    with SandboxProcess(customers=args.customers, api_key=API_KEY) as server:
        tickets = _tickets(server.url, args)
        tickets_file = Path(tempfile.mkdtemp(prefix="hub-bench-enrich-")) / "tickets.json"
        tickets_file.write_text(json.dumps(tickets, ensure_ascii=False), encoding="utf-8")
        httpx.post(f"{server.url}/_sandbox/faults",
                   json={"latency_ms": args.latency_ms}).raise_for_status()
        print(f"{args.tickets} tickets of {args.customers} customers, {args.concurrency} in "
              f"flight, sandbox latency {args.latency_ms} ms, cache TTL {args.cache_ttl} s",
              flush=True)
        for round_ in range(args.repeats):
            order = list(CASES) if round_ % 2 == 0 else list(CASES)[::-1]
            for case in order:
                runs[case].append(_run_case(case, server, tickets_file, args))
                print(_line(case, runs[case][-1]), flush=True)
        if args.paced_rate > 0:
            print(f"paced: a ticket every {1000 / args.paced_rate:g} ms", flush=True)
            for case in CASES:
                paced[case] = _run_case(case, server, tickets_file, args, args.paced_rate)
                print(_line(case, paced[case]), flush=True)
    print(json.dumps(_summary(runs, paced, args)))


def _summary(runs: dict[str, list[dict[str, Any]]], paced: dict[str, dict[str, Any]],
             args: argparse.Namespace) -> dict[str, Any]:
    hub = max(runs["hub"], key=lambda run: run["rate"])
    raw = max(runs["raw"], key=lambda run: run["rate"])
    # The least a ticket of a customer not yet cached waits for the source: the find, then
    # orders and interactions at once.
    floor_ms = 2 * args.latency_ms
    ratio = hub["rate"] / raw["rate"]
    beyond = hub["p99_ms"] - floor_ms
    hub_runs = [*runs["hub"], *([paced["hub"]] if paced else [])]
    fetches = max(run["fetches_per_ttl"] for run in hub_runs)
    enriched = all(run["statuses"].get("enriched") == run["tickets"]
                   and run["orders"] == raw["orders"] for run in hub_runs)
    return {
        "bench": "enrich", "tickets": args.tickets, "customers": args.customers,
        "latency_ms": args.latency_ms, "concurrency": args.concurrency,
        "hub_tps": round(hub["rate"], 1), "raw_tps": round(raw["rate"], 1),
        "ratio": round(ratio, 3), "target": RATIO_TARGET,
        "hub_p50_ms": round(hub["p50_ms"], 1), "hub_p99_ms": round(hub["p99_ms"], 1),
        "raw_p99_ms": round(raw["p99_ms"], 1),
        "p99_beyond_latency_ms": round(beyond, 1), "p99_target": P99_TARGET_MS,
        "paced_rate": args.paced_rate if paced else None,
        "paced_hub_p50_ms": round(paced["hub"]["p50_ms"], 1) if paced else None,
        "paced_hub_p99_ms": round(paced["hub"]["p99_ms"], 1) if paced else None,
        "paced_raw_p99_ms": round(paced["raw"]["p99_ms"], 1) if paced else None,
        "paced_p99_beyond_latency_ms": round(paced["hub"]["p99_ms"] - floor_ms, 1)
        if paced else None,
        "fetches_per_customer": fetches, "all_enriched": enriched,
        "met": ratio >= RATIO_TARGET and beyond <= P99_TARGET_MS and fetches <= 1 and enriched,
    }


if __name__ == "__main__":
    main()
