"""Send 10,000 notifications through the WeCom sandbox with its rate limit on.

    .venv/bin/python bench/notify.py            # about 2 minutes
    .venv/bin/python bench/notify.py --help

The sandbox runs in a child process and enforces WeCom's per-API limit (scaled down to
`--limit` messages a second over a sliding minute), its per-member limit (beyond it WeCom
drops messages silently) and short-lived tokens. The hub sends through its own delivery path
(`hub.notify.send.deliver`): the `wecom` connector from `Hub.connector`, with the store-backed
token cache, rate budgets in the store (SQLite) and every call audited. Human-readable lines
first; the last line is one JSON object (see bench/README.md).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _helpers beside this file

from _server import ChildServer  # noqa: E402

TARGET = 0.95
CORP_ID, SECRET, AGENT_ID = "wwbench00000000001", "bench-wecom-app-secret-4f1c", 1000002


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=80,
                        help="messages per second the sandbox allows (per minute: 60 x this)")
    parser.add_argument("--headroom", type=float, default=0.98,
                        help="share of the limit the connection's rate budget uses")
    parser.add_argument("--users", type=int, default=1000,
                        help="distinct recipients (each gets messages/users of them)")
    parser.add_argument("--concurrency", type=int, default=32, help="sends in flight")
    parser.add_argument("--token-lifetime", type=int, default=30,
                        help="seconds a sandbox token lives (renewed during the run)")
    parser.add_argument("--budget-store", choices=("database", "memory", "redis"),
                        default="database",
                        help="where rate budgets live (as HUB_RATE_BUDGET_STORE)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def _users(count: int) -> dict[str, str]:
    return {f"u{n:05d}": f"139{n:08d}" for n in range(count)}


# -- the sandbox, in a child process ----------------------------------------------------------

def _serve(args: argparse.Namespace) -> None:
    """Child process: serve the sandbox, print its URL, answer `stats` lines on stdin."""
    from connectors.sdk.sandbox import serve
    from connectors.wecom.sandbox import SandboxLimits, create_app

    limits = SandboxLimits(api=args.limit * 60, api_window=60.0)
    app = create_app(corp_id=CORP_ID, corp_secret=SECRET, agent_id=AGENT_ID,
                     users=_users(args.users), robots={}, token_lifetime=args.token_lifetime,
                     limits=limits)
    sandbox = app.state.sandbox
    with serve(app) as url:
        print(url, flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                limited = sum(1 for r in list(sandbox.requests)
                              if r["api"] == "message/send" and r["errcode"] == 45009)
                print(json.dumps({**sandbox.counters, "rate_limited": limited,
                                  "cpu": time.process_time()}), flush=True)


class SandboxProcess(ChildServer):
    """The WeCom sandbox in a child process, so that client and server each have a core."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__([sys.executable, str(Path(__file__).resolve()), "--serve",
                          "--limit", str(args.limit), "--users", str(args.users),
                          "--token-lifetime", str(args.token_lifetime)])

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = json.loads(self.ask("stats"))
        return stats


# -- the hub's side -----------------------------------------------------------------------------

def _config(workdir: Path, url: str, args: argparse.Namespace) -> Path:
    path = workdir / "hub.yaml"
    path.write_text(json.dumps({"version": 1, "connections": {"wecom": {
        "type": "wecom", "config": {
            "base_url": url, "corp_id": CORP_ID, "corp_secret": SECRET, "agent_id": AGENT_ID,
            "rate_limit": {"per_minute": args.limit * 60, "headroom": args.headroom},
            "max_connections": args.concurrency}}}}), encoding="utf-8")
    return path


async def _send_all(hub: Any, args: argparse.Namespace) -> tuple[float, float, list[Any]]:
    from connectors.sdk.messaging import Message
    from hub.config.rules import TargetSpec
    from hub.notify.send import ConnectorPool, deliver

    users = list(_users(args.users))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(args.messages):
        queue.put_nowait(n)
    records: list[Any] = []
    pool = ConnectorPool(hub, actor="bench")
    started = time.perf_counter()
    progress_at = started + 10

    async def worker() -> None:
        nonlocal progress_at
        while not queue.empty():
            n = queue.get_nowait()
            message = Message(kind="text", title=f"工单 #{n}",
                              text=f"工单 #{n} 已超时，请处理（bench）")
            target = TargetSpec(connection="wecom", user=users[n % len(users)])
            records.extend(await deliver(pool, [target], message))
            now = time.perf_counter()
            if now >= progress_at:
                progress_at = now + 10
                print(f"  {len(records):>6} sent, {len(records) / (now - started):6.1f}/s",
                      flush=True)

    try:
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    finally:
        await pool.aclose()
    return started, time.perf_counter(), records


def main() -> None:
    args = _arguments()
    if args.serve:
        _serve(args)
        return
    from hub.core.settings import Settings
    from hub.runtime import Hub

    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-notify-"))
    with SandboxProcess(args) as server:
        hub = Hub(Settings(database_url=f"sqlite:///{workdir / 'hub.db'}",
                           config=_config(workdir, server.url, args),
                           mappings_dir=ROOT / "mappings",
                           rate_budget_store=args.budget_store))
        hub.upgrade_db()
        print(f"{args.messages} WeCom app messages to {args.users} members, sandbox limit "
              f"{args.limit}/s ({args.limit * 60}/min), budget headroom {args.headroom}, "
              f"{args.concurrency} in flight, tokens live {args.token_lifetime} s", flush=True)
        cpu = time.process_time()
        started, finished, records = asyncio.run(_send_all(hub, args))
        cpu = time.process_time() - cpu
        stats = server.stats()
        audited = len(hub.audit.tail(args.messages * 3))
        hub.close()
    wall = finished - started
    rate = args.messages / wall
    failed = [r for r in records if r.status != "sent"]
    delivered = int(stats.get("deliveries", 0))
    lost = args.messages - min(delivered, args.messages - len(failed)) + int(
        stats.get("silently_dropped", 0))
    print(f"  sent {args.messages} in {wall:.1f} s: {rate:.1f} messages/s against a limit of "
          f"{args.limit}/s (ratio {rate / args.limit:.3f}; the budget aims at "
          f"{args.headroom:.2f})")
    print(f"  the sandbox delivered {delivered}, dropped {stats.get('silently_dropped', 0)} "
          f"silently, answered 45009 {stats.get('rate_limited', 0)} times; "
          f"{stats.get('tokens_issued', 0)} tokens issued; {len(failed)} sends failed")
    print(f"  client CPU {cpu / args.messages * 1000:.2f} ms per message, sandbox CPU "
          f"{float(stats.get('cpu', 0)) / args.messages * 1000:.2f} ms; "
          f"{audited} audit rows")
    ratio = round(rate / args.limit, 3)
    print(json.dumps({
        "bench": "notify", "messages": args.messages, "limit_per_s": args.limit,
        "messages_per_s": round(rate, 1), "rate_ratio": ratio, "lost": lost,
        "target": TARGET, "met": ratio >= TARGET and lost == 0,
        "rate_limited": stats.get("rate_limited", 0),
        "tokens_issued": stats.get("tokens_issued", 0), "failed": len(failed),
    }))


if __name__ == "__main__":
    main()
