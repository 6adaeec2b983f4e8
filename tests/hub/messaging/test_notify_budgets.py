"""Vendor limits held across processes (two hubs on one store, each its own engine and
connectors: only the store is shared): WeCom's per-member 30 a minute, whose excess WeCom
drops silently, and a DingTalk robot's block after its 20 a minute. Scaled-down windows."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from connectors.wecom.sandbox import SandboxLimits
from hub.runtime import Hub
from hub.store.models import NotifyFiring
from hub.tickets import TicketCreate, create_ticket

from .conftest import DT_ROBOT_TOKEN, MessagingHub, Sandboxes, rows
from .test_notify_queue import FAST_RETRY, burst, rule, settle_queue, tickets_in


async def tickets(hub: Hub, count: int, name: str) -> list[int]:
    created = [await create_ticket(hub, TicketCreate(subject=f"{name} {n}", channel="api"),
                                   actor="test") for n in range(count)]
    return [t.id for t in created]


@pytest.mark.parametrize("wecom_limits", [SandboxLimits(robot=1000, member=1,
                                                        member_window=2.0)])
async def test_budgets__two_processes_share_a_wecom_members_budget(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    # WeCom takes one message to a member in any 2 s here and drops the rest silently; the
    # hubs' budget for the member is one message every 2.5 s. Kept per process, the two hubs
    # would send together and WeCom would drop half.
    slow = {"member_rate_limit": {"per_second": 0.4, "headroom": 1}}
    target = {"connection": "wecom", "user": "lisi"}
    first, second = (messaging_hub(rules={"new": rule(target)}, enrich=False, wecom=slow)
                     for _ in range(2))
    ids = [n for batch in await asyncio.gather(tickets(first, 2, "a"), tickets(second, 2, "b"))
           for n in batch]
    assert sandboxes.wecom.counters["silently_dropped"] == 0
    inbox = tickets_in([m.content["content"] for m in sandboxes.wecom.inbox("lisi")])
    assert inbox == Counter(dict.fromkeys(ids, 1))


async def test_budgets__a_robot_blocked_for_one_process_is_blocked_for_another(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    # DingTalk blocks the robot after 2 posts a second here (the docs: 20 a minute, then 10
    # minutes). The block one hub met is in the store: the other hub's new messages wait
    # for its end instead of being refused one by one, then all go out once.
    dingtalk = sandboxes.dingtalk
    dingtalk.robot_limit, dingtalk.robot_window, dingtalk.robot_penalty = 2, 1.0, 5.0
    target = {"connection": "dingtalk", "robot": "ops"}
    settings = {"robot_backoff": 5.0, "max_attempts": 1}
    first, second = (messaging_hub(rules={"new": rule(target)}, enrich=False, jobs=FAST_RETRY,
                                   dingtalk=settings) for _ in range(2))
    early = await burst(first, 3)
    robot = dingtalk.robots[DT_ROBOT_TOKEN]
    assert len(robot.posted) == 2 and robot.refusals == 1
    later = await burst(second, 4)  # another process, during the block
    assert robot.refusals == 1 and len(robot.posted) == 2  # not even tried
    assert {f.status for f in rows(second, NotifyFiring) if f.ticket_id in later} == {"queued"}
    await settle_queue(second)
    posted = tickets_in([p["text"]["content"] for p in robot.posted])
    assert posted == Counter(dict.fromkeys(early + later, 1))
