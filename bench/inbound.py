"""How fast `hub serve` answers a burst of vendor callbacks, and that each becomes one ticket.

    .venv/bin/python bench/inbound.py            # about a minute on a 2-core machine
    .venv/bin/python bench/inbound.py --help

`hub serve` runs in a child process on SQLite, with enrichment configured against the CRM
sandbox (another child process). This process plays the vendors: DingTalk posting its app
bot's messages in HTTP mode (signed plaintext, `BotMessenger` of the DingTalk sandbox) and
WeCom pushing encrypted text callbacks (`CallbackBuilder` of the WeCom sandbox), all to
`/webhooks/<connection>`, `--concurrency` requests in flight. Every message comes from its own
sender (so each should open one ticket) and types a mobile number: most are CRM customers,
whom enrichment then looks up and fetches the history of, after the answer. A share of the
messages (`--retry-share`) is sent again later in the burst with the same msgId / MsgId, as a
vendor retries: those must be acknowledged and change nothing.

Measured: the time from sending each request to its HTTP answer (p50, p99, max), the tickets
in the store (all there, none doubled), and how long the enrichment after the answers took to
settle. Human-readable lines first; the last line is one JSON object (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _helpers beside this file

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from _server import SandboxProcess  # noqa: E402

TARGET_MS = 1000.0
CRM_KEY, CRM_SEED = "bench-crm-key-inbound", 7  # _server.py serves the sandbox's default seed
DT_APP_KEY, DT_APP_SECRET = "dingbenchinbound01", "bench-dingtalk-app-secret-2d9c"
WC_CORP_ID, WC_AGENT_ID = "wwbenchinbound0001", 1000002
WC_TOKEN, WC_AES_KEY = "BenchInboundToken1", "Zx84cWtMVGeyU6GDDgoP4urdvPXE7Qa11VC1F6e08tQ"
Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=400,
                        help="messages per vendor (DingTalk bot, WeCom app)")
    parser.add_argument("--retry-share", type=float, default=0.2,
                        help="share of the messages the vendor sends a second time")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--customers", type=int, default=2000, help="customers in the CRM")
    parser.add_argument("--settle-timeout", type=float, default=90.0,
                        help="seconds to wait for the enrichment after the burst")
    parser.add_argument("--no-enrich", dest="enrich", action="store_false",
                        help="no enrich job: the work after each answer is only the rules")
    return parser.parse_args()


def _config(workdir: Path, crm_url: str, *, enrich: bool = True) -> Path:
    path = workdir / "hub.yaml"
    path.write_text(json.dumps({
        "version": 1,
        "connections": {
            "crm": {"type": "crm", "config": {"base_url": crm_url, "api_key": CRM_KEY}},
            # Neither messenger is called on the way in: their hosts are never reached.
            "dingtalk": {"type": "dingtalk", "config": {
                "base_url": "http://127.0.0.1:9", "app_key": DT_APP_KEY,
                "app_secret": DT_APP_SECRET, "agent_id": 1000001}},
            "wecom": {"type": "wecom", "config": {
                "base_url": "http://127.0.0.1:9", "corp_id": WC_CORP_ID,
                "corp_secret": "bench-wecom-secret", "agent_id": WC_AGENT_ID,
                "callback_token": WC_TOKEN, "callback_aes_key": WC_AES_KEY}}},
        "jobs": {"ticket_enrichment": {"kind": "enrich", "connection": "crm",
                                       "mapping": "crm_customer"}} if enrich else {},
        "webhooks": {
            "dingtalk": {"mapping": "dingtalk_inbound_ticket", "events": ["bot_message"]},
            "wecom": {"mapping": "wecom_inbound_ticket", "events": ["text"]}},
    }, ensure_ascii=False), encoding="utf-8")
    return path


class HubServer:
    """`hub serve --port 0` in a child process; its base URL once it says where it listens."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> HubServer:
        with self.log.open("w") as out:
            self.process = subprocess.Popen(  # noqa: S603 -- the hub's own CLI
                [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())", "serve",
                 "--port", "0"], cwd=ROOT, env=self.env, stdout=out,
                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not (found := re.search(r"listening on (http://127\.0\.0\.1:\d+)",
                                      self.log.read_text(errors="replace"))):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hub serve did not start:\n{self.log.read_text()}")
            time.sleep(0.1)
        self.url = found.group(1)
        return self

    def cpu_seconds(self) -> float:
        """The server's CPU time so far (Linux /proc), or NaN elsewhere."""
        assert self.process is not None
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *_exc: Any) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _burst(hub_url: str, args: argparse.Namespace) -> tuple[list[Send], int]:
    """The requests in the order they are sent (each retry later than its original), and the
    number of distinct messages."""
    from connectors.crm.sandbox.seed import generate_customers
    from connectors.dingtalk.sandbox import BotMessenger
    from connectors.wecom.sandbox import CallbackBuilder

    rng = random.Random(18)
    mobiles = [c["contact"]["mobile"] for c in generate_customers(args.customers,
                                                                  seed=CRM_SEED)]
    bot = BotMessenger(app_secret=DT_APP_SECRET, robot_code=DT_APP_KEY)
    wecom = CallbackBuilder(token=WC_TOKEN, encoding_aes_key=WC_AES_KEY, corp_id=WC_CORP_ID,
                            agent_id=WC_AGENT_ID)
    dingtalk_url, wecom_url = f"{hub_url}/webhooks/dingtalk", f"{hub_url}/webhooks/wecom"

    def text(n: int) -> str:
        # One in four types a number the CRM does not know: enrichment finds nobody.
        mobile = f"199{n:08d}" if n % 4 == 3 else rng.choice(mobiles)
        return f"订单还没到，麻烦查一下，我的手机 {mobile}（第 {n} 条）"

    def dingtalk(n: int) -> Send:
        message = bot.message(sender=f"dt{n:05d}", text=text(n), group="售后群" if n % 5 == 0
                              else None)
        # A retry is signed anew, as DingTalk signs each request it sends.
        return lambda client: bot.send(dingtalk_url, message, client=client)

    def wecom_text(n: int) -> Send:
        msg_id, body = 7_000_000_000 + n, text(n)

        def send(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
            callback = wecom.text(sender=f"wc{n:05d}", content=body, msg_id=msg_id)
            return client.post(callback.url(wecom_url), content=callback.body,
                               headers={"Content-Type": "text/xml"})
        return send

    sends: list[Send] = []
    for n in range(args.messages):
        sends += [dingtalk(n), wecom_text(n)]
    retries = [rng.randrange(len(sends)) for _ in range(int(len(sends) * args.retry_share))]
    for original in sorted(set(retries), reverse=True):
        later = rng.randrange(original + 1, min(len(sends), original + 40) + 1)
        sends.insert(later, sends[original])
    return sends, 2 * args.messages


async def _drive(sends: list[Send], concurrency: int) -> tuple[list[float], list[str], float]:
    """Send them all, `concurrency` in flight; each answer's time in ms, the errors, and the
    wall time."""
    queue: asyncio.Queue[Send] = asyncio.Queue()
    for send in sends:
        queue.put_nowait(send)
    times: list[float] = []  # in the order the requests were sent
    errors: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            send = queue.get_nowait()
            slot = len(times)
            times.append(0.0)
            started = time.perf_counter()
            try:
                response = await send(client)
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
                continue
            finally:
                times[slot] = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                errors.append(f"HTTP {response.status_code}: {response.text[:200]}")

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return times, errors, time.perf_counter() - started


def _store_counts(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        statuses = dict(connection.execute(sa.text(
            "SELECT enrichment_status, count(*) FROM tickets GROUP BY enrichment_status")).all())
        events = connection.execute(sa.text(
            "SELECT count(*), coalesce(sum(deliveries), 0), count(DISTINCT ticket_id), "
            "sum(CASE WHEN status = 'ticket' THEN 1 ELSE 0 END) FROM webhook_events")).one()
        per_ticket = connection.execute(sa.text(
            "SELECT count(*) FROM (SELECT ticket_id FROM webhook_events GROUP BY ticket_id "
            "HAVING count(*) > 1) AS shared")).scalar_one()
    return {"tickets": sum(statuses.values()), "statuses": statuses, "events": events[0],
            "deliveries": events[1], "event_tickets": events[2], "ticket_events": events[3],
            "tickets_with_two_events": per_ticket}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    args = _arguments()
    from hub.core.settings import Settings
    from hub.runtime import Hub

    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-inbound-"))
    database_url = f"sqlite:///{workdir / 'hub.db'}"
    with SandboxProcess(customers=args.customers, api_key=CRM_KEY) as crm:
        config = _config(workdir, crm.url, enrich=args.enrich)
        migrating = Hub(Settings(database_url=database_url, config=config,
                                 mappings_dir=ROOT / "mappings"))
        migrating.upgrade_db()
        migrating.close()
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(("HUB_", "CRM_", "DINGTALK_", "WECOM_"))}
        env.update(HUB_DATABASE_URL=database_url, HUB_CONFIG=str(config),
                   HUB_MAPPINGS_DIR=str(ROOT / "mappings"), PYTHONPATH=str(ROOT))
        with HubServer(env, workdir / "serve.log") as hub:
            sends, distinct = _burst(hub.url, args)
            print(f"{len(sends)} callbacks ({args.messages} DingTalk bot messages in HTTP mode, "
                  f"{args.messages} encrypted WeCom texts, {len(sends) - distinct} vendor "
                  f"retries) to hub serve (SQLite, enrichment on the CRM sandbox with "
                  f"{args.customers} customers), {args.concurrency} in flight", flush=True)
            cpu_before = hub.cpu_seconds()
            times, errors, wall = asyncio.run(_drive(sends, args.concurrency))
            burst_cpu = hub.cpu_seconds() - cpu_before
            engine = sa.create_engine(database_url)
            settle_started = time.perf_counter()
            while True:
                counts = _store_counts(engine)
                pending = counts["statuses"].get("pending", 0)
                if not pending or time.perf_counter() - settle_started > args.settle_timeout:
                    break
                time.sleep(0.25)
            settled = time.perf_counter() - settle_started
            total_cpu = hub.cpu_seconds() - cpu_before
            engine.dispose()
    p50, p99 = statistics.median(times), _percentile(times, 0.99)
    doubled = max(0, counts["tickets"] - distinct) + counts["tickets_with_two_events"]
    missing = max(0, distinct - counts["ticket_events"])
    slowest = max(range(len(times)), key=times.__getitem__)
    over = sum(1 for t in times if t > TARGET_MS)
    print(f"  answered {len(times)} in {wall:.1f} s ({len(times) / wall:.0f}/s): p50 "
          f"{p50:.1f} ms, p99 {p99:.1f} ms, max {max(times):.1f} ms (request #{slowest + 1}; "
          f"the first {args.concurrency}: p50 {statistics.median(times[:args.concurrency]):.0f}"
          f" ms); {over} over {TARGET_MS:.0f} ms; {len(errors)} errors"
          + (f" (first: {errors[0]})" if errors else ""))
    print(f"  hub serve's CPU: {burst_cpu:.1f} s during the burst (answers, and follow-ups "
          f"meanwhile), {total_cpu:.1f} s until settled ({total_cpu / len(sends) * 1000:.1f} "
          f"ms a callback, all its work)")
    print(f"  store: {counts['tickets']} tickets for {distinct} messages, {counts['events']} "
          f"events delivered {counts['deliveries']} times; doubled {doubled}, missing "
          f"{missing}; enrichment {counts['statuses']} "
          f"{'settled' if not pending else 'NOT settled'} {settled:.1f} s after the burst")
    met = (p99 <= TARGET_MS and not errors and doubled == 0 and missing == 0
           and counts["deliveries"] == len(sends))
    print(json.dumps({
        "bench": "inbound", "callbacks": len(sends), "messages": distinct,
        "retries": len(sends) - distinct, "concurrency": args.concurrency,
        "ack_p50_ms": round(p50, 1), "ack_p99_ms": round(p99, 1),
        "ack_max_ms": round(max(times), 1), "target_ms": TARGET_MS, "over_target": over,
        "callbacks_per_s": round(len(sends) / wall, 1), "errors": len(errors),
        "tickets": counts["tickets"], "doubled": doubled, "missing": missing,
        "enrichment": counts["statuses"], "enrich_settled_s": round(settled, 1),
        "server_cpu_ms_per_callback": round(total_cpu / len(sends) * 1000, 2),
        "server_cpu_burst_s": round(burst_cpu, 2),
        "met": met,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
