"""Send notifications through the hub's durable send queue to the WeCom sandbox at its rate
limit, clean and then with 10 % injected faults; none may be lost.

    .venv/bin/python bench/notify.py            # about 3 minutes
    .venv/bin/python bench/notify.py --help

The sandbox runs in a child process behind fault injection and enforces WeCom's per-API
limit (scaled down to `--limit` messages a second over a sliding minute), its per-member
limit (beyond it WeCom drops messages silently) and short-lived tokens. Each phase writes
`--messages` firings with their deliveries to the queue (as a rule's decision does: ticket,
firing, delivery with the rendered message; not timed), then `hub notify dispatch`'s
dispatcher (`dispatch_queue`) drains it through the `wecom` connector — store-backed token
cache, rate budgets in the store (SQLite), every HTTP attempt and every settled attempt
audited. Timed from the dispatcher's start to the queue drained. Human-readable lines first;
the last line is one JSON object (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _helpers beside this file

from _notify_sandbox import AGENT_ID, CORP_ID, SECRET, NotifySandbox, users  # noqa: E402

TARGET, FAULTY_TARGET = 0.95, 0.9


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5_000, help="messages per phase")
    parser.add_argument("--limit", type=int, default=80,
                        help="messages per second the sandbox allows (per minute: 60 x this)")
    parser.add_argument("--headroom", type=float, default=0.98,
                        help="share of the limit the connection's rate budget uses")
    parser.add_argument("--faults", type=float, default=0.10,
                        help="share of requests that meet a fault in the second phase")
    parser.add_argument("--users", type=int, default=1000,
                        help="distinct recipients (each gets messages/users of them)")
    parser.add_argument("--concurrency", type=int, default=64, help="sends in flight")
    parser.add_argument("--batch", type=int, default=32, help="deliveries claimed at once")
    parser.add_argument("--token-lifetime", type=int, default=30,
                        help="seconds a sandbox token lives (renewed during the run)")
    parser.add_argument("--budget-store", choices=("database", "memory", "redis"),
                        default="database",
                        help="where rate budgets live (as HUB_RATE_BUDGET_STORE)")
    return parser.parse_args()


def _config(workdir: Path, url: str, args: argparse.Namespace) -> Path:
    path = workdir / "hub.yaml"
    path.write_text(json.dumps({"version": 1, "connections": {"wecom": {
        "type": "wecom", "config": {
            "base_url": url, "corp_id": CORP_ID, "corp_secret": SECRET, "agent_id": AGENT_ID,
            "rate_limit": {"per_minute": args.limit * 60, "headroom": args.headroom},
            "max_connections": args.concurrency}}},
        # A retry leaves soon (the default waits 2 s doubling to 15 min: a bench would end
        # with its last retries); the vendor's documented waits still win when longer.
        "jobs": {"notify": {"kind": "notify", "retry": {
            "attempts": 12, "backoff_initial": 0.2, "backoff_max": 2.0}}}}), encoding="utf-8")
    return path


def _enqueue(hub: Any, first: int, count: int, user_ids: list[str]) -> None:
    """`count` decided firings (#first …), each with its delivery queued, as a rule's
    decision writes them; 500 a transaction."""
    from connectors.sdk.messaging import Message
    from hub.config.rules import RuleSpec
    from hub.notify import queue
    from hub.store.models import NotifyFiring, Ticket

    rules = {user: RuleSpec.model_validate({
        "when": "status == 'open'", "notify": [{"connection": "wecom", "user": user}],
        "message": {"kind": "text", "title": "工单", "text": "x"}}) for user in user_ids}
    for start in range(first, first + count, 500):
        now = datetime.now(UTC)
        with hub.sessions.begin() as session:
            numbers = range(start, min(first + count, start + 500))
            tickets = [Ticket(subject=f"bench {n}", channel="api", status="open",
                              created_at=now, updated_at=now) for n in numbers]
            session.add_all(tickets)
            session.flush()
            firings = [NotifyFiring(rule="bench", ticket_id=t.id, state="open", status="queued",
                                    fired_at=now, updated_at=now) for t in tickets]
            session.add_all(firings)
            session.flush()
            for n, firing in zip(numbers, firings, strict=True):
                user = user_ids[n % len(user_ids)]
                message = Message(kind="text", title=f"工单 #{n}",
                                  text=f"工单 #{n} 已超时，请处理（bench）")
                queue.enqueue(session, firing_id=firing.id, ticket_id=firing.ticket_id,
                              rule_name="bench", rule=rules[user], message=message, now=now)


@dataclass
class Phase:
    name: str
    messages: int
    wall: float
    cpu: float
    report: Any
    statuses: dict[str, int]
    count: dict[str, Any]

    @property
    def rate(self) -> float:
        return int(self.count["delivered"]) / self.wall

    @property
    def lost(self) -> int:
        return self.messages - int(self.count["delivered"])


async def _drain(hub: Any, args: argparse.Namespace) -> Any:
    from hub.notify.dispatch import DispatchOptions
    from hub.notify.drain import dispatch_queue

    return await dispatch_queue(hub, actor="bench", options=DispatchOptions(
        concurrency=args.concurrency, batch=args.batch, mode="drain", poll_seconds=0.05))


def _phase(name: str, hub: Any, server: NotifySandbox, args: argparse.Namespace,
           first: int) -> Phase:
    from hub.notify import queue

    _enqueue(hub, first, args.messages, list(users(args.users)))
    cpu, started = time.process_time(), time.perf_counter()
    report = asyncio.run(_drain(hub, args))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    with hub.sessions() as session:
        statuses = queue.counts(session)
    phase = Phase(name, args.messages, wall, cpu, report, statuses,
                  server.command(f"count {first} {first + args.messages}"))
    print(f"  {name}: {phase.count['delivered']} of {args.messages} delivered in {wall:.1f} s"
          f" = {phase.rate:.1f}/s (ratio {phase.rate / args.limit:.3f}); retried "
          f"{report.retried}, maybe delivered {report.maybe_delivered}, dead {report.dead}, "
          f"unknown {report.unknown}; delivered twice {phase.count['twice']}; "
          f"faults met by message/send {phase.count['injected']}; "
          f"CPU {cpu / args.messages * 1000:.2f} ms a message", flush=True)
    return phase


def main() -> None:
    args = _arguments()
    from hub.core.settings import Settings
    from hub.runtime import Hub

    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-notify-"))
    with NotifySandbox(limit=args.limit, users=args.users,
                       token_lifetime=args.token_lifetime) as server:
        hub = Hub(Settings(database_url=f"sqlite:///{workdir / 'hub.db'}",
                           config=_config(workdir, server.url, args),
                           mappings_dir=ROOT / "mappings",
                           rate_budget_store=args.budget_store))
        hub.upgrade_db()
        print(f"{args.messages} WeCom app messages a phase to {args.users} members through the "
              f"send queue, sandbox limit {args.limit}/s ({args.limit * 60}/min), budget "
              f"headroom {args.headroom}, {args.concurrency} in flight, batches of "
              f"{args.batch}, tokens live {args.token_lifetime} s", flush=True)
        clean = _phase("clean", hub, server, args, 0)
        server.command(f"faults {args.faults} 18")
        faulty = _phase(f"{args.faults:.0%} faults", hub, server, args, args.messages)
        server.command("faults 0 0")
        stats = server.command("stats")
        hub.close()
    total = 2 * args.messages
    lost = clean.lost + faulty.lost + int(stats.get("silently_dropped", 0))
    duplicates = int(clean.count["copies"]) + int(faulty.count["copies"])
    lost_answers = int(faulty.count["injected"].get("lost", 0))
    print(f"  the sandbox: {stats.get('messages_sent', 0)} sends accepted, "
          f"{stats.get('duplicates_dropped', 0)} resends dropped by its duplicate check (one "
          f"per answer lost after delivery: {lost_answers}), "
          f"{stats.get('silently_dropped', 0)} dropped silently (per-member limit), 45009 "
          f"{stats.get('rate_limited', 0)} times; {stats.get('tokens_issued', 0)} tokens "
          f"issued; CPU {float(stats.get('cpu', 0)) / total * 1000:.2f} ms a message")
    ratio, faulty_ratio = round(clean.rate / args.limit, 3), round(faulty.rate / args.limit, 3)
    print(json.dumps({
        "bench": "notify", "path": "queue", "messages": total, "limit_per_s": args.limit,
        "messages_per_s": round(clean.rate, 1), "rate_ratio": ratio,
        "faulty_messages_per_s": round(faulty.rate, 1), "faulty_rate_ratio": faulty_ratio,
        "faults": args.faults, "lost": lost, "duplicates": duplicates,
        "maybe_delivered": clean.report.maybe_delivered + faulty.report.maybe_delivered,
        "vendor_dropped_resends": int(stats.get("duplicates_dropped", 0)),
        "retried": clean.report.retried + faulty.report.retried,
        "dead": clean.report.dead + faulty.report.dead,
        "unknown": clean.report.unknown + faulty.report.unknown,
        "rate_limited": stats.get("rate_limited", 0),
        "tokens_issued": stats.get("tokens_issued", 0),
        "target": TARGET, "faulty_target": FAULTY_TARGET,
        "met": ratio >= TARGET and faulty_ratio >= FAULTY_TARGET and lost == 0
        and duplicates == 0,
    }))


if __name__ == "__main__":
    main()
