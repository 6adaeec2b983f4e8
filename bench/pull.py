"""Pull 100,000 CRM customers in pages of 1,000: the SDK against a hand-written loop and dlt.

    .venv/bin/python bench/pull.py            # defaults sized for a 2-core machine
    .venv/bin/python bench/pull.py --help

Human-readable lines first; the last line is one JSON object (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _helpers beside this file

from _clients import (  # noqa: E402
    GETTERS,
    Target,
    aiohttp_installed,
    fetch_all,
    page_path,
    pull_bytes,
    pull_raw,
    pull_sdk,
)
from _dlt import LOADER, DltRun, dlt_installed, prepare, pull_dlt  # noqa: E402
from _measure import Series, measure  # noqa: E402
from _server import SandboxProcess, SandboxThread  # noqa: E402

API_KEY = "bench-crm-key"
TARGET_RATIO, DLT_TARGET = 0.8, 3.0
Pull = Callable[[], Coroutine[Any, Any, tuple[int, int]]]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed runs of each record pull (the fastest is kept)")
    parser.add_argument("--server", choices=("process", "thread"), default="process",
                        help="sandbox in its own process (default) or a thread of this one")
    parser.add_argument("--no-dlt", action="store_true", help="skip the dlt comparison")
    parser.add_argument("--dlt-repeats", type=int, default=3)
    parser.add_argument("--no-transport-study", action="store_true",
                        help="skip the client-CPU-per-request study of the transports")
    parser.add_argument("--study-repeats", type=int, default=3,
                        help="timed runs of each case of the transport study")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="requests in flight in the transport study's concurrent runs")
    parser.add_argument("--small-requests", type=int, default=500,
                        help="one-record requests per run in the transport study")
    return parser.parse_args()


def _record_cases(target: Target, with_aiohttp: bool) -> dict[str, tuple[str, Pull]]:
    cases: dict[str, tuple[str, Pull]] = {
        "sdk": ("SDK read, httpx", lambda: pull_sdk(target)),
        "raw": ("hand-written, httpx", lambda: pull_raw(target)),
    }
    if with_aiohttp:
        cases |= {
            "sdk_aiohttp": ("SDK read, httpx-aiohttp", lambda: pull_sdk(target, aiohttp=True)),
            "raw_aiohttp": ("hand-written, httpx-aiohttp",
                            lambda: pull_raw(target, aiohttp=True)),
            "bytes_aiohttp": ("bytes only, aiohttp", lambda: pull_bytes(target, kind="aiohttp")),
        }
    cases["bytes_httpx"] = ("bytes only, httpx", lambda: pull_bytes(target, kind="httpx"))
    return cases


def _run_cases(server: Any, cases: dict[str, tuple[str, Pull]], *, repeats: int,
               expect: int | None) -> dict[str, Series]:
    """A warm-up run of every case, then `repeats` rounds, the cases interleaved."""
    for _label, pull in cases.values():
        measure(server, pull, expect=expect)
    series = {key: Series(label) for key, (label, _pull) in cases.items()}
    for _ in range(repeats):
        for key, (_label, pull) in cases.items():
            series[key].samples.append(measure(server, pull, expect=expect))
    return series


def _transport_study(server: Any, target: Target, args: argparse.Namespace,
                     kinds: list[str], pages: list[str]) -> None:
    small = [page_path(1, None)] * args.small_requests
    workloads = {
        f"{len(pages)} pages x1": (pages, 1),
        f"{len(pages)} pages x{args.concurrency}": (pages, args.concurrency),
        f"{len(small)} small x1": (small, 1),
        f"{len(small)} small x{args.concurrency}": (small, args.concurrency),
    }
    cases: dict[str, tuple[str, Pull]] = {}
    for kind in kinds:
        for name, (paths, concurrency) in workloads.items():
            def pull(kind: str = kind, paths: list[str] = paths, n: int = concurrency) -> Any:
                return fetch_all(target, kind=kind, paths=paths, concurrency=n)
            cases[f"{kind}|{name}"] = (name, pull)
    series = _run_cases(server, cases, repeats=args.study_repeats, expect=None)
    print("\nclient CPU per request by transport, bodies not parsed "
          "(ms of CPU in this process; in brackets, wall ms per request):")
    print(f"  {'client':<14}" + "".join(f"{name:>22}" for name in workloads))
    for kind in kinds:
        cells = []
        for name in workloads:
            found = series[f"{kind}|{name}"]
            wall = found.best.wall / found.best.requests * 1000
            cells.append(f"{found.client_ms_per_request:>13.2f} ({wall:5.2f})")
        print(f"  {kind:<14}" + "".join(cells))


def _dlt(target: Target, repeats: int) -> DltRun | None:
    with tempfile.TemporaryDirectory(prefix="bench-dlt-") as workdir:
        prepare(Path(workdir))
        import dlt.sources.rest_api  # noqa: F401  (imported once, outside the timings)

        runs = [pull_dlt(url=target.url, api_key=target.api_key, page_size=target.page_size,
                         workdir=Path(workdir), run=n) for n in range(repeats)]
    for run in runs:
        print(f"  dlt rest_api -> {LOADER}: {run.records / run.total:>9,.0f} rec/s"
              f"  {run.total:6.2f} s (extract {run.extract:.2f} s, normalize"
              f" {run.normalize:.2f} s, load {run.load:.2f} s)")
    return min(runs, key=lambda run: run.total)


def main() -> None:
    args = _arguments()
    with_aiohttp = aiohttp_installed()
    with_dlt = dlt_installed() and not args.no_dlt
    sandbox = SandboxProcess if args.server == "process" else SandboxThread
    _warn_if_busy()
    with sandbox(customers=args.customers, api_key=API_KEY) as server:
        where = "its own process" if args.server == "process" else "a thread of this process"
        print(f"crm sandbox in {where}: {args.customers:,} customers, ready in"
              f" {server.startup_seconds:.1f} s at {server.url}")
        target = Target(server.url, API_KEY, args.page_size)
        print(f"\npulling {args.customers:,} records in pages of {args.page_size:,}"
              f" (best of {args.repeats} after a warm-up; median in brackets):")
        series = _run_cases(server, _record_cases(target, with_aiohttp), repeats=args.repeats,
                            expect=args.customers)
        for found in series.values():
            print(found.line())
        if not with_aiohttp:
            print("  (httpx-aiohttp not installed: its cases are skipped)")
        _explain_server(series)

        if not args.no_transport_study:
            pages: list[str] = []
            measure(server, lambda: pull_bytes(target, kind="httpx", paths=pages))
            kinds = [k for k in GETTERS if with_aiohttp or "aiohttp" not in k]
            _transport_study(server, target, args, kinds, pages)

        dlt_run = None
        if with_dlt:
            print(f"\ndlt rest_api source, cursor paginator, into {LOADER}"
                  f" ({args.dlt_repeats} runs):")
            dlt_run = _dlt(target, args.dlt_repeats)
        else:
            print("\ndlt: skipped (" + ("--no-dlt" if args.no_dlt else
                  "not installed: pip install -e '.[bench]'") + ")")
    print(json.dumps(_summary(series, dlt_run, args)))


def _warn_if_busy() -> None:
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    print(f"machine: {cores} cores, load average {load:.2f}")
    if load > cores / 2:
        print("  warning: the machine is busy; wall-clock figures will be low and noisy "
              "(the CPU-per-request figures suffer less)")


def _explain_server(series: dict[str, Series]) -> None:
    floor = series.get("bytes_aiohttp") or series["bytes_httpx"]
    server_ms = floor.server_ms_per_request
    if server_ms is None:
        return
    wall_ms = floor.best.wall / floor.best.requests * 1000
    print(f"  the sandbox spends {server_ms:.2f} ms of CPU per page; the fastest client"
          f" ({floor.label}) gets a page every {wall_ms:.2f} ms, so the sandbox is"
          f" {server_ms / wall_ms:.0%} of the fastest possible pull")
    sdk = series["sdk"]
    sdk_wall_ms = sdk.best.wall / sdk.best.requests * 1000
    print(f"  of the SDK's {sdk_wall_ms:.2f} ms per page, {sdk.server_ms_per_request:.2f} ms is"
          f" the sandbox's CPU and {sdk.client_ms_per_request:.2f} ms the client's")


def _summary(series: dict[str, Series], dlt_run: DltRun | None,
             args: argparse.Namespace) -> dict[str, Any]:
    def rps(key: str) -> float | None:
        return round(series[key].best.rps) if key in series else None

    sdk_rps, raw_rps = series["sdk"].best.rps, series["raw"].best.rps
    dlt_rps = None if dlt_run is None else dlt_run.records / dlt_run.total
    ratio = sdk_rps / raw_rps
    dlt_ratio = None if dlt_rps is None else sdk_rps / dlt_rps
    met = ratio >= TARGET_RATIO and (dlt_ratio is None or dlt_ratio >= DLT_TARGET)
    return {
        "bench": "pull", "records": args.customers, "page_size": args.page_size,
        "sdk_rps": round(sdk_rps), "raw_rps": round(raw_rps), "ratio": round(ratio, 3),
        "target": TARGET_RATIO, "met": met,
        "dlt_rps": None if dlt_rps is None else round(dlt_rps),
        "dlt_loader": None if dlt_run is None else LOADER,
        "dlt_ratio": None if dlt_ratio is None else round(dlt_ratio, 2),
        "dlt_target": DLT_TARGET,
        "sdk_aiohttp_rps": rps("sdk_aiohttp"), "raw_aiohttp_rps": rps("raw_aiohttp"),
    }


if __name__ == "__main__":
    main()
