"""Notify rules after an enrichment the queue finishes rather than the ticket's creation: the
scheduler's enrich job and `hub enrich drain` run the rules on each ticket they settle, as
created for a ticket queued at its creation and as enriched for one queued again."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from hub.enrichment import enqueue
from hub.runtime import Hub
from hub.scheduler.run import run_job
from hub.store.models import NotifyFiring, Run
from hub.tickets import TicketCreate, insert_ticket

from .conftest import ROOT, VIP_RULE, MessagingHub, Sandboxes, rows


def queued_ticket(hub: Hub, mobile: str) -> int:
    """A new ticket left to the queue: stored with its queue row, not enriched inline."""
    data = TicketCreate(subject="扫地机器人无法回充", channel="phone", contact_mobile=mobile)
    with hub.sessions.begin() as session:
        return insert_ticket(hub, session, data, actor="test").id


def vip_mobile(crm: Any) -> str:
    vip = next(c for c in crm.state.customers if c["level"] == "钻石")
    mobile: str = vip["contact"]["mobile"]
    return mobile


def notify_triggers(hub: Hub) -> list[str]:
    return [run.trigger for run in rows(hub, Run, Run.job == "notify")]


async def test_scheduler_enrich_job__runs_the_rules_as_created(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, crm_sandbox: Any
) -> None:
    hub = messaging_hub(rules={"vip": VIP_RULE})
    ticket_id = queued_ticket(hub, vip_mobile(crm_sandbox))
    assert sandboxes.robot_posts() == []
    outcome = await run_job(hub, "ticket_enrichment", trigger="schedule")
    assert outcome.status == "succeeded"
    [post] = sandboxes.robot_posts()
    assert post["actionCard"]["title"] == f"VIP 工单 #{ticket_id}"
    assert [(f.rule, f.ticket_id) for f in rows(hub, NotifyFiring)] == [("vip", ticket_id)]
    assert notify_triggers(hub) == ["ticket.create"]


def test_enrich_drain_command__runs_the_rules_as_enriched(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, crm_sandbox: Any, database_url: str
) -> None:
    hub = messaging_hub(rules={"vip": VIP_RULE})
    ticket_id = queued_ticket(hub, vip_mobile(crm_sandbox))
    with hub.sessions.begin() as session:  # queued again, as `hub tickets enrich` does
        enqueue(session, ticket_id, reason="requested", now=datetime.now(UTC))
    env = {**os.environ, "HUB_DATABASE_URL": database_url,
           "HUB_CONFIG": str(hub.settings.config), "HUB_MAPPINGS_DIR": str(ROOT / "mappings")}
    done = subprocess.run([sys.executable, "-m", "cli", "enrich", "drain"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "enriched 1" in done.stdout
    [post] = sandboxes.robot_posts()
    assert post["actionCard"]["title"] == f"VIP 工单 #{ticket_id}"
    assert notify_triggers(hub) == ["ticket.enrich"]
