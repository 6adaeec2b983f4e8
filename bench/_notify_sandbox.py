"""The WeCom sandbox for bench/notify.py, in a process of its own, behind fault injection.

Run as a script by `NotifySandbox`: it serves the sandbox wrapped in `FaultInjector`, prints
its base URL, then answers one JSON line per line on stdin and exits when stdin closes:

- ``stats``: the sandbox's counters, its 45009 answers and its CPU seconds;
- ``faults <rate> <seed>``: that share of requests meets a fault from then on (half of them
  answered 502 before WeCom sees them, a quarter dropped before, a quarter processed and their
  answer lost); ``faults 0 0`` turns them off;
- ``count <first> <last>``: how many times each bench message ``#n`` (first ≤ n < last) was
  delivered to its member, and what the fault injector did to ``message/send``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _helpers beside this file

from _server import ChildServer  # noqa: E402

__all__ = ["CORP_ID", "MARK", "SECRET", "AGENT_ID", "NotifySandbox", "users"]

CORP_ID, SECRET, AGENT_ID = "wwbench00000000001", "bench-wecom-app-secret-4f1c", 1000002
MARK = re.compile(r"#(\d+) ")


def users(count: int) -> dict[str, str]:
    return {f"u{n:05d}": f"139{n:08d}" for n in range(count)}


def _count(sandbox: Any, faults: Any, first: int, last: int) -> dict[str, Any]:
    seen: Counter[int] = Counter()
    for message in list(sandbox.messages):
        if message.delivered:
            seen.update(int(n) for n in MARK.findall(str(message.content.get("content", "")))
                        if first <= int(n) < last)
    met = Counter(r.outcome for r in faults.requests() if r.path.endswith("/message/send"))
    return {"delivered": len(seen), "twice": sum(1 for c in seen.values() if c > 1),
            "copies": sum(c - 1 for c in seen.values()),
            "missing": [n for n in range(first, last) if n not in seen][:20],
            "injected": dict(met)}


def serve(args: argparse.Namespace) -> None:
    from connectors.sdk.sandbox import serve as serve_app
    from connectors.sdk.testing import FaultInjector
    from connectors.wecom.sandbox import SandboxLimits, create_app

    limits = SandboxLimits(api=args.limit * 60, api_window=60.0)
    app = create_app(corp_id=CORP_ID, corp_secret=SECRET, agent_id=AGENT_ID,
                     users=users(args.users), robots={}, token_lifetime=args.token_lifetime,
                     limits=limits)
    sandbox = app.state.sandbox
    faults = FaultInjector(app, seed=18)
    with serve_app(faults) as url:
        print(url, flush=True)
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["stats"]:
                limited = sum(1 for r in list(sandbox.requests)
                              if r["api"] == "message/send" and r["errcode"] == 45009)
                answer: dict[str, Any] = {**sandbox.counters, "rate_limited": limited,
                                          "cpu": time.process_time()}
            elif words[:1] == ["faults"]:
                rate, seed = float(words[1]), int(words[2])
                faults.chaos(error=rate / 2, drop=rate / 4, lose=rate / 4, status=502,
                             seed=seed)
                faults.clear_requests()  # `count` reports this phase's faults
                answer = faults.state()
            elif words[:1] == ["count"]:
                answer = _count(sandbox, faults, int(words[1]), int(words[2]))
            else:
                answer = {"error": f"unknown command {line.strip()!r}"}
            print(json.dumps(answer), flush=True)


class NotifySandbox(ChildServer):
    """The faultable WeCom sandbox in a child process (client and server a core each)."""

    def __init__(self, *, limit: int, users: int, token_lifetime: int) -> None:
        super().__init__([sys.executable, str(Path(__file__).resolve()),
                          "--limit", str(limit), "--users", str(users),
                          "--token-lifetime", str(token_lifetime)])

    def command(self, line: str) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self.ask(line))
        return answer


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--token-lifetime", type=int, required=True)
    serve(parser.parse_args())
