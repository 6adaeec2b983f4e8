"""Time every console page on the console's volumes (issue 21: p95 <= 150 ms a page).

    .venv/bin/python bench/console.py            # about 2 minutes
    .venv/bin/python bench/console.py --help

A SQLite store is seeded with 100,000 tickets and 10,000 runs (bench/console_data.py), then
`hub serve` runs on it in a process of its own, as in production. The bench signs in to the
console with an admin API key, as a browser does (the form's CSRF token, the session cookie),
and asks every page it serves — found from the console's own route tables, so a new page is
timed without changing this file — `--rounds` times, round-robin, one request at a time.
A page's time is the request's wall time on loopback: the server's time plus a fraction of a
millisecond. Human-readable lines first; the last line is one JSON object (bench/README.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from bench.console_data import seed_console_data  # noqa: E402
from hub.access.apikeys import create_key  # noqa: E402
from hub.core.settings import Settings  # noqa: E402
from hub.runtime import Hub  # noqa: E402
from hub.store import migrate  # noqa: E402

TARGET_MS = 150.0
# Pages that are not pages: downloads, JSON polled by the pages' scripts, sign-in flows.
_NOT_PAGES = re.compile(r"\.json$|/report\.|^/signin|^/signout|^/language|^/static")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=40, help="requests per page")
    return parser.parse_args()


def console_pages() -> list[str]:
    """The GET paths of every module in hub/console/routes (path parameters unfilled)."""
    import hub.console.routes as package

    paths: list[str] = []
    for module in pkgutil.iter_modules(package.__path__):
        routes = getattr(importlib.import_module(f"{package.__name__}.{module.name}"),
                         "routes", [])
        for route in routes:
            methods = getattr(route, "methods", None) or {"GET"}
            path = getattr(route, "path", "")
            if "GET" in methods and path and not _NOT_PAGES.search(path):
                paths.append(path)
    return sorted(set(paths))


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port_file = Path(env["HUB_BENCH_DIR"]) / "serve.err"
    with port_file.open("wb") as err:
        process = subprocess.Popen(  # noqa: S603 -- our own CLI
            [sys.executable, "-m", "cli", "serve", "--port", "0"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", port_file.read_text())
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"hub serve exited: {port_file.read_text()[-2000:]}")
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("hub serve did not start within 60 s")


def _sign_in(client: httpx.Client, key: str) -> None:
    form = client.get("/console/signin").text
    found = re.search(r'name="csrf" value="([^"]+)"', form)
    assert found, "no CSRF token on the sign-in form"
    page = client.post("/console/signin", data={"csrf": found.group(1), "api_key": key,
                                                "next": "/tickets"})
    assert page.status_code == 200 and "/signin" not in page.url.path, page.status_code


def _ids(client: httpx.Client, key: str) -> dict[str, str]:
    """A real id for each path parameter the pages take, read through the API (an import
    of a few customers made first: the seeded store has none)."""
    headers = {"X-API-Key": key}
    rows = "客户名称,手机号\n" + "".join(f"客户{n},1390000{n:04d}\n" for n in range(200))
    made = client.post("/imports", headers=headers, data={"mapping": "import_customers"},
                       files={"file": ("customers.csv", rows.encode(), "text/csv")})
    assert made.status_code in (200, 202), made.text

    def first(path: str, field: str = "id") -> str | None:
        answer = client.get(path, headers=headers, params={"limit": 1}).json()
        items = answer.get("items", answer) if isinstance(answer, dict) else answer
        return str(items[0][field]) if items else None

    jobs = client.get("/jobs", headers=headers, params={"limit": 200}).json()["items"]
    pull = next((job["name"] for job in jobs if job["kind"] == "pull"), None)  # a cursor
    found = {"ticket_id": first("/tickets"), "run_id": first("/runs"),
             "row_id": first("/outbox"), "import_id": first("/imports"),
             "/jobs/name": pull, "/mappings/name": "kingdee_refund_bill"}
    return {name: value for name, value in found.items() if value is not None}


def _fill(path: str, ids: dict[str, str]) -> str | None:
    """`path` with its parameters filled (a `name` is the first segment's: a job's, a
    mapping's); None when there is no row to show."""
    def value(name: str) -> str | None:
        return ids.get(name) or ids.get(f"/{path.split('/')[1]}/{name}")

    names = re.findall(r"\{(\w+)(?::\w+)?\}", path)
    if any(value(name) is None for name in names):
        return None
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: value(m.group(1)) or "", path)


def _variants(path: str) -> list[str]:
    """The page, and for lists the filters people use most."""
    if path == "/tickets":
        return ["/tickets", "/tickets?status=open", "/tickets?channel=wecom&status=resolved",
                "/tickets?q=退款", "/tickets?q=无此词"]  # a word no ticket has: every row read
    if path == "/outbox":
        return ["/outbox", "/outbox?status=dead"]
    return [path]


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="bench-console-") as workdir:
        url = f"sqlite:///{workdir}/hub.db"
        engine = create_engine(url)
        migrate.upgrade(engine)
        seeded = seed_console_data(engine, tickets=args.tickets, runs=args.runs)
        engine.dispose()
        print(f"seeded {seeded.tickets:,} tickets, {seeded.runs:,} runs, {seeded.calls:,} "
              f"calls, {seeded.outbox:,} outbox rows in {seeded.seconds} s")
        env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_CONFIG": str(ROOT / "configs/hub.yaml"),
               "HUB_MAPPINGS_DIR": str(ROOT / "mappings"), "HUB_AUDIT_KEY": "b" * 48,
               "HUB_BENCH_DIR": workdir}
        hub = Hub(Settings(database_url=url, config=ROOT / "configs/hub.yaml",
                           mappings_dir=ROOT / "mappings", audit_key="b" * 48))
        try:
            key = create_key(hub, name="bench admin", role="admin", actor="bench").key
        finally:
            hub.close()
        process, base = _serve(env)
        try:
            with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as client:
                _sign_in(client, key)
                ids = _ids(client, key)
                pages, skipped = [], []
                for path in console_pages():
                    filled = _fill(path, ids)
                    (pages.extend(_variants(filled)) if filled else skipped.append(path))
                samples: dict[str, list[float]] = {page: [] for page in pages}
                for page in pages:  # warm: first requests compile templates and queries
                    assert client.get(f"/console{page}").status_code == 200, page
                for _ in range(args.rounds):
                    for page in pages:
                        started = time.perf_counter()
                        answer = client.get(f"/console{page}")
                        samples[page].append((time.perf_counter() - started) * 1000)
                        assert answer.status_code == 200, (page, answer.status_code)
        finally:
            process.terminate()
            process.wait(30)
    figures = {page: {"median_ms": round(statistics.median(values), 1),
                      "p95_ms": round(_p95(values), 1)} for page, values in samples.items()}
    for page, figure in figures.items():
        print(f"  {page:45} median {figure['median_ms']:7.1f} ms   p95 {figure['p95_ms']:7.1f} ms")
    if skipped:
        print(f"  not timed (no row to show): {', '.join(skipped)}")
    worst = max(figures.items(), key=lambda item: item[1]["p95_ms"])
    print(json.dumps({"bench": "console", "pages": len(figures), "worst_page": worst[0],
                      "worst_p95_ms": worst[1]["p95_ms"], "target_ms": TARGET_MS,
                      "met": worst[1]["p95_ms"] <= TARGET_MS, "tickets": seeded.tickets,
                      "runs": seeded.runs, "skipped": skipped,
                      "load": round(os.getloadavg()[0], 1)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
