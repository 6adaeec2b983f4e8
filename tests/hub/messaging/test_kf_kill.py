"""`hub kf sync` killed with SIGKILL twice mid-sync, then run to the end: 1,000 customer
messages over 3 kf accounts, every one in exactly one ticket, in the vendor's order (the
cursor commits with its page's messages; msgids dedupe)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.runtime import Hub
from hub.store.models import KfMessage, Ticket

from .conftest import MessagingHub, Sandboxes
from .test_kf import KF_WEBHOOKS, by_id, kf

ROOT = Path(__file__).resolve().parents[3]
ACCOUNTS = ("wkKillTestAccount0000000000001", "wkKillTestAccount0000000000002",
            "wkKillTestAccount0000000000003")
MESSAGES = 1000
CUSTOMERS = 30
KINDS = (("text", None), ("image", {"media_id": "MEDIA"}), ("file", {"media_id": "FILE"}),
         ("voice", {"media_id": "VOICE"}), ("text", {"content": "查订单", "menu_id": "201"}),
         ("link", {"title": "订单", "url": "https://shop.example/1"}))


def _stored(hub: Hub) -> int:
    with hub.sessions() as session:
        return session.scalar(select(func.count()).select_from(KfMessage)) or 0


def _sync(hub: Hub) -> subprocess.Popen[bytes]:
    settings = hub.settings
    env = {**os.environ, "HUB_DATABASE_URL": settings.database_url,
           "HUB_CONFIG": str(settings.config), "HUB_MAPPINGS_DIR": str(settings.mappings_dir)}
    return subprocess.Popen(
        [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())", "kf", "sync",
         "--connection", "wecom", *(a for account in ACCOUNTS for a in ("--account", account))],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_after(hub: Hub, at_least: int) -> int:
    process = _sync(hub)
    deadline = time.monotonic() + 120
    while _stored(hub) < at_least and process.poll() is None:
        assert time.monotonic() < deadline, "the sync made no progress"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate()
    assert process.returncode == -signal.SIGKILL, stderr.decode()
    return _stored(hub)


@pytest.mark.slow
def test_kill__twice_mid_sync_then_to_the_end__every_message_once_in_order(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(webhooks=KF_WEBHOOKS, enrich=False, wecom={"kf_sync_limit": 25})
    state = kf(sandboxes)
    state.page_cap, state.empty_pages = 20, 7  # short pages, some empty with has_more
    sent: dict[str, list[str]] = defaultdict(list)  # conversation -> msgids, in order
    for account in ACCOUNTS:
        state.add_account(account, account[-1])
    for n in range(MESSAGES):
        account, customer = ACCOUNTS[n % 3], f"wmCustomer{n % CUSTOMERS:03d}"
        kind, content = KINDS[n % len(KINDS)]
        message = state.customer_says(account, customer, kind, content, text=f"消息 {n}")
        sent[f"wecom_kf:{account}:{customer}"].append(message["msgid"])
        if n % 97 == 0:  # WeCom's own events and servicers' messages: no ticket
            state.customer_says(account, customer, "event",
                                {"event_type": "session_status_change"}, origin=4)
    sandboxes.wecom_faults.latency(0.01)  # slow enough to be killed mid-sync

    first = _kill_after(hub, 150)
    second = _kill_after(hub, first + 250)
    assert 0 < first < second < MESSAGES  # both kills landed mid-sync
    sandboxes.wecom_faults.reset()
    final = _sync(hub)
    out, err = final.communicate(timeout=240)
    assert final.returncode == 0, err.decode()
    assert out.decode().count("wecom wkKillTest") == 3

    messages = by_id(hub, KfMessage)
    customer = [m for m in messages if m.origin == 3]
    assert len(customer) == MESSAGES
    assert len({m.msgid for m in messages}) == len(messages)
    assert all(m.ticket_id is not None for m in customer)
    tickets = {t.id: t for t in by_id(hub, Ticket)}
    assert len(tickets) == len(sent)  # one ticket per conversation
    by_ticket: dict[int, list[str]] = defaultdict(list)
    for m in customer:  # ids grow in the order the messages were stored
        by_ticket[m.ticket_id].append(m.msgid)  # type: ignore[index]
    for ticket_id, msgids in by_ticket.items():
        ticket = tickets[ticket_id]
        assert msgids == sent[ticket.external_ref]
        assert re.findall(r"#([0-9a-f]+)\]", ticket.description) == msgids  # once, in order
    assert all(call["open_kfid"] in ACCOUNTS for call in state.sync_calls)
