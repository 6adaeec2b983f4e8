"""App tokens across processes: a burst of processes fetches one token and counts one fetch
against the gettoken daily cap (per corp × app, in the store); a fetch refused for the cap
is not sent, and the queued message waits it out as `never_sent` with the reason. Real
subprocesses on one store; the DingTalk and WeCom sandboxes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.sdk.ratelimit import RateCap
from hub.core.time import as_utc
from hub.runtime import Hub
from hub.store.budgets import SqlBudgetStore
from hub.store.models import AuditRecord, NotifyDelivery
from hub.tickets import TicketCreate, create_ticket

from .conftest import DT_APP_KEY, WC_AGENT_ID, WC_CORP_ID, MessagingHub, Sandboxes, rows

ROOT = Path(__file__).resolve().parents[3]
PROCESSES = 4
CAP_KEYS = {"wecom": f"wecom:gettoken-cap:{WC_CORP_ID}:{WC_AGENT_ID}",
            "dingtalk": f"dingtalk:gettoken-cap:{DT_APP_KEY}"}
USERS = {"wecom": "zhangsan", "dingtalk": "user001"}

SENDER = textwrap.dedent("""
    import asyncio, sys
    from connectors.sdk.messaging import Message, Recipient
    from hub.core.settings import Settings
    from hub.runtime import Hub

    async def main():
        hub = Hub(Settings())
        connectors = {name: hub.connector(name, actor="test") for name in ("wecom", "dingtalk")}
        for connector in connectors.values():
            await connector.__aenter__()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # every process starts together
        n = sys.argv[1]
        sent = await asyncio.gather(
            connectors["wecom"].notify(Message(kind="text", title="t", text=f"p{n}"),
                                       to=[Recipient.user("zhangsan")]),
            connectors["dingtalk"].notify(Message(kind="text", title="t", text=f"p{n}"),
                                          to=[Recipient.user("user001")]))
        print(" ".join(d.status for d in sent), flush=True)
        for connector in connectors.values():
            await connector.__aexit__(None, None, None)
        hub.close()

    asyncio.run(main())
""")


def gettoken_calls(sandboxes: Sandboxes, vendor: str) -> int:
    faults = sandboxes.wecom_faults if vendor == "wecom" else sandboxes.dingtalk_faults
    return sum(r.path.endswith("/gettoken") for r in faults.requests())


async def fetches_left(hub: Hub, vendor: str, cap: int) -> int:
    """How many more fetches the store's cap admits (taking them all)."""
    limit = RateCap(CAP_KEYS[vendor], cap, 86_400.0, SqlBudgetStore(hub.sessions))
    left = 0
    while await limit.take() is None:
        left += 1
        assert left <= cap
    return left


@pytest.mark.slow  # senders in processes of their own
async def test_tokens__a_burst_of_processes_fetches_once_and_counts_one_fetch(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    cap = {"token_daily_cap": 10}
    hub = messaging_hub(enrich=False, wecom=cap, dingtalk=cap)
    settings = hub.settings
    env = {**os.environ, "HUB_DATABASE_URL": settings.database_url,
           "HUB_CONFIG": str(settings.config), "HUB_MAPPINGS_DIR": str(settings.mappings_dir),
           "HUB_RATE_BUDGET_STORE": "database"}
    processes = [subprocess.Popen([sys.executable, "-c", SENDER, str(n)], cwd=ROOT, env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for n in range(PROCESSES)]
    for process in processes:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line == "ready", process.communicate(timeout=60)[1]
    answers = []
    for process in processes:
        out, err = process.communicate("go\n", timeout=120)
        assert process.returncode == 0, err
        answers.append(out.strip())
    assert answers == ["sent pending"] * PROCESSES  # DingTalk notices: accepted
    assert len(sandboxes.wecom.inbox("zhangsan")) == PROCESSES
    assert len(sandboxes.dingtalk.messages_to("user001")) == PROCESSES
    for vendor in ("wecom", "dingtalk"):
        assert gettoken_calls(sandboxes, vendor) == 1  # one fetch for every process
        assert await fetches_left(hub, vendor, 10) == 9  # and it counted once, in the store


def rule(vendor: str) -> dict[str, object]:
    return {"when": "status == 'open'", "notify": [{"connection": vendor, "user": USERS[vendor]}],
            "message": {"kind": "text", "title": "新工单", "text": "T{{ id }}"}}


@pytest.mark.parametrize("vendor", ["wecom", "dingtalk"])
async def test_tokens__a_fetch_over_the_daily_cap_is_not_sent_and_the_message_waits(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, vendor: str
) -> None:
    cap = {"token_daily_cap": 1}
    first = messaging_hub(rules={"new": rule(vendor)}, enrich=False, wecom=cap, dingtalk=cap)
    await create_ticket(first, TicketCreate(subject="a", channel="api"), actor="test")
    assert gettoken_calls(sandboxes, vendor) == 1
    if vendor == "wecom":
        sandboxes.wecom.expire_tokens()
    else:
        sandboxes.dingtalk.expire_tokens()
    # Another process, the same corp × app: the cap is the store's, not the process's.
    second = messaging_hub(rules={"new": rule(vendor)}, enrich=False, wecom=cap, dingtalk=cap)
    before = datetime.now(UTC)
    last_seq = max(r.seq for r in rows(second, AuditRecord))
    ticket = await create_ticket(second, TicketCreate(subject="b", channel="api"),
                                 actor="test")
    assert gettoken_calls(sandboxes, vendor) == 1  # the refused fetch was never sent
    [waiting] = rows(second, NotifyDelivery, NotifyDelivery.ticket_id == ticket.id)
    assert waiting.status == "pending" and waiting.error_kind == "never_sent"
    assert waiting.error and "token fetch not sent" in waiting.error
    assert "1 tokens in 24 h" in waiting.error
    # It waits until the cap admits a fetch again (a day for a cap of one), not the backoff.
    assert as_utc(waiting.next_attempt_at) > before + timedelta(hours=23)
    [log] = waiting.attempts_log or []
    assert log["outcome"] == "never_sent"
    sends = [r for r in rows(second, AuditRecord, AuditRecord.action == "notify.send")
             if r.target == f"ticket:{ticket.id}"]
    assert [r.detail["outcome"] for r in sends] == ["never_sent"]
    # Nothing reached the vendor for it: the token call is audited as refused by the cap,
    # and no message call was made.
    calls = rows(second, AuditRecord, AuditRecord.action == "http.call",
                 AuditRecord.seq > last_seq)
    assert [(r.target, r.outcome) for r in calls] == [(f"{vendor}:token", "quota")]
