"""`hub notify dispatch` killed with SIGKILL mid-burst, then a new one: every firing
delivered exactly once (DingTalk work notices and WeCom app messages), SQLite and
PostgreSQL. The killed process's leases run out; its in-flight sends are taken over and
sent again only because both vendors drop the copy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.runtime import Hub
from hub.store.models import NotifyDelivery, NotifyFiring

from .conftest import MessagingHub, Sandboxes, rows
from .test_notify_queue import FAST_RETRY, burst, rule, tickets_in

pytestmark = pytest.mark.slow  # dispatchers in processes of their own, killed and started

ROOT = Path(__file__).resolve().parents[3]
TICKETS = 40


def _sent(hub: Hub) -> int:
    with hub.sessions() as session:
        return session.scalar(select(func.count()).where(
            NotifyDelivery.status == "sent")) or 0


def _dispatcher(hub: Hub) -> subprocess.Popen[bytes]:
    settings = hub.settings
    env = {**os.environ, "HUB_DATABASE_URL": settings.database_url,
           "HUB_CONFIG": str(settings.config), "HUB_MAPPINGS_DIR": str(settings.mappings_dir)}
    return subprocess.Popen(
        [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())", "notify", "dispatch",
         "--concurrency", "4", "--lease", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_kill__a_dispatcher_killed_mid_burst_then_a_new_one_delivers_each_once(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    targets = ({"connection": "dingtalk", "user": "user001"},
               {"connection": "wecom", "user": "zhangsan"})
    # The deciding process's first tries are all refused (one try per call): the burst
    # waits in the queue for the dispatcher processes.
    once = {"max_attempts": 1}
    deciding = messaging_hub(rules={"new": rule(*targets)}, enrich=False, jobs=FAST_RETRY,
                             dingtalk=once, wecom=once)
    for faults in (sandboxes.dingtalk_faults, sandboxes.wecom_faults):
        faults.error_rate(1.0, status=503)
    ids = await burst(deciding, TICKETS)
    assert _sent(deciding) == 0
    for faults in (sandboxes.dingtalk_faults, sandboxes.wecom_faults):
        faults.reset()
        faults.latency(0.05)  # slow enough to be killed mid-burst
    sending = messaging_hub(rules={"new": rule(*targets)}, enrich=False, jobs=FAST_RETRY)

    killed = _dispatcher(sending)
    deadline = time.monotonic() + 120
    while _sent(sending) < TICKETS // 2 and killed.poll() is None:
        assert time.monotonic() < deadline, "the dispatcher made no progress"
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    _, stderr = killed.communicate()
    assert killed.returncode == -signal.SIGKILL, stderr.decode()
    assert _sent(sending) < 2 * TICKETS
    held = rows(sending, NotifyDelivery, NotifyDelivery.status == "pending",
                NotifyDelivery.lease_owner.is_not(None))
    assert held  # killed mid-burst: deliveries it had claimed wait for their leases to end
    final = _dispatcher(sending)
    _, stderr = final.communicate(timeout=240)
    assert final.returncode == 0, stderr.decode()

    once_each = Counter(dict.fromkeys(ids, 1))
    notices = [json.dumps(t.msg, ensure_ascii=False)
               for t in sandboxes.dingtalk.tasks.values() if "user001" in t.unread]
    assert tickets_in(notices) == once_each
    inbox = [m.content["content"] for m in sandboxes.wecom.inbox("zhangsan")]
    assert tickets_in(inbox) == once_each
    assert {r.status for r in rows(sending, NotifyDelivery)} == {"sent"}
    assert {f.status for f in rows(sending, NotifyFiring)} == {"sent"}
