"""`hub demo`'s messaging part: the shipped rules and webhooks at work on the sandboxes."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from hub.demo import run_demo

ROOT = Path(__file__).resolve().parents[3]


def test_run_demo__notifies_dingtalk_and_wecom_and_opens_a_ticket_from_a_callback() -> None:
    buffer = io.StringIO()
    tickets = run_demo(Console(file=buffer, width=200), customers=120, project_root=ROOT)
    output = buffer.getvalue()
    vip = tickets[0]
    assert f"DingTalk group robot 'ops' received a card: VIP 工单 #{vip.id}" in output
    assert "refund_to_finance" in output and "dingtalk:mobile:138****0002" in output
    assert "POST /webhooks/wecom (signed, AES-encrypted) → 200, ticket: ticket #4" in output
    assert "The same callback replayed → 403 (replayed), audited." in output
    assert "WeCom app message to zhangsan (textcard): 紧急工单 #4" in output
    assert re.search(r"Run \d+ of notify \(overdue\): succeeded", output)
    assert output.count("unresolved_after_2h") == 4
    assert "hash chain intact" in output
