"""Notify rules end to end: tickets in the store, messages through the DingTalk and WeCom
sandboxes over loopback HTTP, firings, runs and audit rows on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.wecom.sandbox import SandboxLimits
from hub.errors import JobFailedError
from hub.notify.engine import check_overdue, evaluate_ticket
from hub.notify.send import FollowUp
from hub.runtime import Hub
from hub.store.models import AuditRecord, NotifyFiring, Run, Ticket
from hub.tickets import TicketCreate, create_ticket

from .conftest import (
    DT_ROBOT_TOKEN,
    URGENT_RULE,
    VIP_RULE,
    MessagingHub,
    Sandboxes,
    leaked,
    rows,
)


def vip_customer(crm: Any) -> dict[str, Any]:
    return next(c for c in crm.state.customers if c["level"] == "钻石")


def standard_customer(crm: Any) -> dict[str, Any]:
    return next(c for c in crm.state.customers if c["level"] == "普通")


async def new_ticket(hub: Hub, **fields: Any) -> int:
    data = TicketCreate(**{"subject": "扫地机器人无法回充", "channel": "phone", **fields})
    return (await create_ticket(hub, data, actor="test")).id


def set_status(hub: Hub, ticket_id: int, status: str) -> None:
    with hub.sessions.begin() as session:
        session.get_one(Ticket, ticket_id).status = status


def notify_runs(hub: Hub) -> list[Run]:
    found: list[Run] = rows(hub, Run, Run.job == "notify")
    return found


def audit(hub: Hub, action: str) -> list[AuditRecord]:
    found: list[AuditRecord] = rows(hub, AuditRecord, AuditRecord.action == action)
    return found


async def test_evaluate__vip_ticket_posts_a_card_to_the_dingtalk_group(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, crm_sandbox: Any
) -> None:
    hub = messaging_hub(rules={"vip": VIP_RULE})
    vip = vip_customer(crm_sandbox)
    ticket_id = await new_ticket(hub, contact_mobile=vip["contact"]["mobile"])
    [post] = sandboxes.robot_posts()
    assert post["msgtype"] == "actionCard"
    assert post["actionCard"]["title"] == f"VIP 工单 #{ticket_id}"
    assert post["actionCard"]["singleURL"] == f"https://hub.example.test/tickets/{ticket_id}"
    assert vip["name"] in post["actionCard"]["text"]
    [firing] = rows(hub, NotifyFiring)
    assert (firing.rule, firing.ticket_id, firing.state, firing.status) == (
        "vip", ticket_id, "open", "sent")
    [run] = notify_runs(hub)
    assert (run.trigger, run.status, run.read, run.created, run.rejected) == (
        "ticket.create", "succeeded", 1, 1, 0)
    assert firing.run_id == run.id
    [sent] = audit(hub, "notify.send")
    assert sent.outcome == "sent" and sent.detail is not None
    assert sent.detail["targets"] == ["dingtalk:robot:ops"]


async def test_evaluate__no_match_sends_nothing_and_records_no_run(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, crm_sandbox: Any
) -> None:
    hub = messaging_hub(rules={"vip": VIP_RULE})
    await new_ticket(hub, contact_mobile=standard_customer(crm_sandbox)["contact"]["mobile"])
    assert sandboxes.robot_posts() == []
    assert rows(hub, NotifyFiring) == [] and notify_runs(hub) == []


async def test_evaluate__fires_once_per_ticket_state(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    # The status is in the text: WeCom drops a message identical to one sent minutes before.
    rule = {**URGENT_RULE, "when": "text | has_any(['紧急'])",
            "message": {"kind": "text", "title": "紧急", "text": "#{{ id }}：{{ status }}"}}
    hub = messaging_hub(rules={"urgent": rule})
    ticket_id = await new_ticket(hub, subject="紧急：净水器漏水")
    for _ in range(3):  # updates that leave the state alone: nothing new
        assert (await evaluate_ticket(hub, ticket_id)).firings == []  # type: ignore[union-attr]
    set_status(hub, ticket_id, "in_progress")
    summary = await evaluate_ticket(hub, ticket_id)
    assert summary is not None and [f.state for f in summary.firings] == ["in_progress"]
    assert (await evaluate_ticket(hub, ticket_id)).firings == []  # type: ignore[union-attr]
    assert len(sandboxes.wecom.inbox("zhangsan")) == 2
    firings = rows(hub, NotifyFiring)
    assert [(f.state, f.status) for f in firings] == [("open", "sent"), ("in_progress", "sent")]


async def test_evaluate__concurrent_evaluations_send_once(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(rules={"urgent": {**URGENT_RULE, "when": "status == 'open'"}})
    other = messaging_hub(rules={"urgent": {**URGENT_RULE, "when": "status == 'open'"}})
    with hub.sessions.begin() as session:
        now = datetime.now(UTC)
        ticket = Ticket(subject="x", description="", channel="api", created_at=now,
                        updated_at=now)
        session.add(ticket)
        session.flush()
        ticket_id = ticket.id
    results = await asyncio.gather(*(evaluate_ticket(h, ticket_id) for h in (hub, other) * 3))
    assert sum(len(r.firings) for r in results if r is not None) == 1
    assert len(sandboxes.wecom.inbox("zhangsan")) == 1


async def test_check_overdue__fires_when_the_sla_clock_runs_out(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    rule = {"when": "status not in ['resolved', 'closed'] and age_hours >= 2",
            "notify": [{"connection": "dingtalk", "user": "user001"}],
            "message": {"kind": "text", "title": "超时 #{{ id }}",
                        "text": "工单 #{{ id }} 已 {{ age_hours }} 小时未解决"}}
    hub = messaging_hub(rules={"overdue": rule}, enrich=False)
    late = await new_ticket(hub, subject="发票抬头开错")
    done = await new_ticket(hub, subject="已经解决的")
    set_status(hub, done, "resolved")
    created = rows(hub, Ticket, Ticket.id == late)[0].created_at.replace(tzinfo=UTC)

    early = await check_overdue(hub, now=created + timedelta(hours=1, minutes=59))
    assert (early.tickets, early.firings, early.status) == (1, [], "succeeded")
    due = await check_overdue(hub, now=created + timedelta(hours=2, minutes=1))
    assert [(f.rule, f.ticket_id, f.status) for f in due.firings] == [("overdue", late, "sent")]
    again = await check_overdue(hub, now=created + timedelta(hours=5))
    assert again.firings == []
    [message] = sandboxes.dingtalk.messages_to("user001")
    assert message["text"]["content"].endswith(f"工单 #{late} 已 2.01 小时未解决")
    runs = notify_runs(hub)
    assert [(r.trigger, r.status, r.created) for r in runs] == [
        ("overdue", "succeeded", 0), ("overdue", "succeeded", 1), ("overdue", "succeeded", 0)]


async def test_notify__mobile_targets_resolve_through_the_vendor(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    rule = {"when": "category == 'refund'",
            "notify": [{"connection": "dingtalk", "mobile": "13800000002"},
                       {"connection": "dingtalk", "mobile": "13999999999"}],
            "message": {"kind": "markdown", "title": "退款 #{{ id }}", "text": "{{ subject }}"}}
    hub = messaging_hub(rules={"refund": rule}, enrich=False)
    ticket_id = await new_ticket(hub, subject="申请退款", category="refund")
    assert len(sandboxes.dingtalk.messages_to("user002")) == 1
    [firing] = rows(hub, NotifyFiring)
    assert firing.status == "partial"
    [delivery] = firing.deliveries["deliveries"]
    assert delivery["targets"] == ["dingtalk:mobile:138****0002", "dingtalk:mobile:139****9999"]
    assert delivery["failed"] == ["139****9999"]  # personal data masked
    [run] = notify_runs(hub)
    assert run.status == "partial" and "139****9999" in str(run.errors)
    assert "13999999999" not in str(run.errors) + str(firing.deliveries)
    assert ticket_id == firing.ticket_id


async def test_notify__async_sends_are_followed_up_and_failed_recipients_recorded(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    sandboxes.dingtalk.task_polls = 3  # DingTalk is still sending for three progress calls
    rule = {"when": "status == 'open'",
            "notify": [{"connection": "dingtalk", "user": "user003"},
                       {"connection": "dingtalk", "user": "ghost"}],
            "message": {"kind": "text", "title": "新工单", "text": "#{{ id }} {{ subject }}"}}
    hub = messaging_hub(rules={"new": rule}, enrich=False)
    ticket_id = await new_ticket(hub)
    [firing] = rows(hub, NotifyFiring)
    assert firing.status == "pending"  # the default follow-up gave up before DingTalk was done
    summary = await check_overdue(hub, follow=FollowUp(attempts=0))
    assert summary.followed_up == 1
    [firing] = rows(hub, NotifyFiring)
    assert firing.status == "partial"
    [delivery] = firing.deliveries["deliveries"]
    assert (delivery["status"], delivery["failed"]) == ("partial", ["ghost"])
    follow_ups = audit(hub, "notify.follow_up")
    assert [r.outcome for r in follow_ups] == ["partial"]
    assert follow_ups[0].target == f"ticket:{ticket_id}"
    assert notify_runs(hub)[-1].updated == 1


async def test_notify__token_expiry_mid_run_one_refresh_no_lost_message(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    rule = {**URGENT_RULE, "when": "status == 'open'"}
    first, second = messaging_hub(rules={"r": rule}), messaging_hub(rules={"r": rule})
    ids = [await new_ticket(hub, subject=f"t{n}") for n, hub in enumerate((first, second))]
    assert sandboxes.wecom.counters["tokens_issued"] == 1  # the second hub read the store's
    sandboxes.wecom.expire_tokens()
    ids += await asyncio.gather(*(new_ticket(hub, subject=f"t{n}")
                                  for n, hub in enumerate((first, second, first, second), 2)))
    assert sandboxes.wecom.counters["tokens_issued"] == 2  # one refresh for both processes
    delivered = sandboxes.wecom.inbox("zhangsan")
    assert len(delivered) == len(ids) == 6
    assert 42001 in [r["errcode"] for r in sandboxes.wecom.requests]
    assert {f.status for f in rows(first, NotifyFiring)} == {"sent"}


@pytest.mark.parametrize("wecom_limits", [SandboxLimits(robot=1, robot_window=2.0)])
@pytest.mark.parametrize("vendor", ["dingtalk", "wecom"])
async def test_notify__rate_limit_codes_delay_the_message_not_drop_it(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, vendor: str
) -> None:
    # One message per robot per 2 s: the second is refused (DingTalk 660026, WeCom 45009),
    # waited out (max_retry_after) and sent again. The sandboxes' clocks stand still but for
    # 2.5 s after each refusal: both messages fall in one window however slowly a loaded
    # machine sends them, and the window has passed when the hub tries again.
    sandboxes.dingtalk.robot_limit, sandboxes.dingtalk.robot_window = 1, 2.0
    sandboxes.dingtalk.robot_penalty = 2.0
    start, robot = time.time(), sandboxes.dingtalk.robots[DT_ROBOT_TOKEN]
    sandboxes.dingtalk.clock = lambda: start + 2.5 * robot.refusals
    sandboxes.wecom.clock = lambda: start + 2.5 * sandboxes.wecom.counters["robot_limited"]
    rule = {"when": "status == 'open'", "notify": [{"connection": vendor, "robot": "ops"}],
            "message": {"kind": "markdown", "title": "新工单", "text": "#{{ id }} {{ subject }}"}}
    slow = {"max_retry_after": 1.0, "max_attempts": 5}
    hub = messaging_hub(rules={"group": rule}, enrich=False,
                        dingtalk={**slow, "robot_backoff": 1.0}, wecom=slow)
    for n in range(2):
        await new_ticket(hub, subject=f"第 {n} 张")
    if vendor == "wecom":
        assert len(sandboxes.wecom.robot_messages["ops"]) == 2
        assert sandboxes.wecom.counters["robot_limited"] >= 1
    else:
        assert len(robot.posted) == 2 and robot.refusals >= 1
    assert {f.status for f in rows(hub, NotifyFiring)} == {"sent"}
    assert sum(r.retries for r in notify_runs(hub)) >= 1


async def test_notify__bad_robot_signature_is_a_clear_error_in_the_run(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, crm_sandbox: Any
) -> None:
    robots = {"ops": {"access_token": "dt-hub-robot-token-9a8b7c",
                      "secret": "SECthisisnottherobotssecret0000000000"}}
    hub = messaging_hub(rules={"vip": VIP_RULE}, dingtalk={"robots": robots})
    ticket_id = await new_ticket(hub, contact_mobile=vip_customer(crm_sandbox)["contact"]["mobile"])
    assert sandboxes.robot_posts() == []
    [run] = notify_runs(hub)
    assert run.status == "failed" and run.rejected == 1
    assert run.error is not None and "refused the signature" in run.error
    assert "robot's secret" in run.error and f"ticket {ticket_id}" in run.error
    [firing] = rows(hub, NotifyFiring)
    assert firing.status == "failed"
    [sent] = audit(hub, "notify.send")
    assert sent.outcome == "failed" and "310000" in str(sent.detail)
    assert rows(hub, Ticket)[0].status == "open"  # the ticket itself is untouched


async def test_check_overdue__all_sends_failing_fails_the_job(
    messaging_hub: MessagingHub
) -> None:
    rule = {"when": "age_minutes >= 0", "notify": [{"connection": "wecom", "user": "nobody"}],
            "message": {"kind": "text", "title": "t", "text": "#{{ id }}"}}
    hub = messaging_hub(rules={"r": rule}, enrich=False)
    with hub.sessions.begin() as session:
        now = datetime.now(UTC)
        session.add(Ticket(subject="x", description="", channel="api", created_at=now,
                           updated_at=now))
    with pytest.raises(JobFailedError, match=r"notify check failed \(run \d+\)"):
        await check_overdue(hub)
    assert notify_runs(hub)[-1].status == "failed"


async def test_evaluate__a_condition_that_cannot_be_evaluated_is_recorded(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    rule = {**URGENT_RULE, "when": "age_hours > 'two'"}  # a number compared with text
    hub = messaging_hub(rules={"odd": rule}, enrich=False)
    ticket_id = await new_ticket(hub)
    assert sandboxes.wecom.inbox("zhangsan") == []
    [run] = notify_runs(hub)
    assert run.status == "partial" and run.errors is not None
    [error] = run.errors["notify"]
    assert (error["rule"], error["ticket"]) == ("odd", ticket_id)
    assert error["error"].startswith("condition: ")


async def test_notify__no_secret_in_audit_runs_firings_or_logs(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, crm_sandbox: Any,
    caplog: pytest.LogCaptureFixture, audit_text: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    bad = {"ops": {"access_token": "dt-hub-robot-token-9a8b7c",
                   "secret": "SECthisisnottherobotssecret0000000000"}}
    rules = {"vip": VIP_RULE, "urgent": {**URGENT_RULE, "when": "status == 'open'"},
             "mobile": {"when": "status == 'open'",
                        "notify": [{"connection": "dingtalk", "mobile": "13800000002"}],
                        "message": {"kind": "text", "title": "t", "text": "#{{ id }}"}}}
    hub = messaging_hub(rules=rules, dingtalk={"robots": bad})
    await new_ticket(hub, contact_mobile=vip_customer(crm_sandbox)["contact"]["mobile"])
    sandboxes.wecom.expire_tokens()
    sandboxes.dingtalk.expire_tokens()
    await new_ticket(hub, subject="紧急")
    with hub.sessions() as session:
        stored = "\n".join(str(r.deliveries) + str(r.error)
                           for r in session.scalars(sa.select(NotifyFiring)))
        stored += "\n".join(f"{r.error}{r.errors}" for r in session.scalars(sa.select(Run)))
    secrets = sandboxes.secrets() | {"SECthisisnottherobotssecret0000000000"}
    assert leaked(audit_text(hub), secrets) == []
    assert leaked(stored, secrets) == []
    assert leaked(caplog.text, secrets) == []
    assert len(sandboxes.wecom.inbox("zhangsan")) == 2  # the sends did happen
