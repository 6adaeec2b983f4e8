"""Custom group robots against the sandbox: signing, errors, the per-robot rate limit."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from connectors.dingtalk.connector import DingTalkConnector
from connectors.sdk import AuthError, ConfigError, RejectedError
from connectors.sdk.messaging import Message, RobotPoster
from connectors.sdk.ratelimit import MemoryBudgetStore

TICKET = "https://hub.example.test/tickets/T-9"


@pytest.mark.parametrize(("message", "expected"), [
    (Message("text", "", "VIP 工单待处理", at_mobiles=("13800000001",)),
     {"msgtype": "text", "text": {"content": "VIP 工单待处理 @13800000001"},
      "at": {"atMobiles": ["13800000001"], "isAtAll": False}}),
    (Message("markdown", "VIP", "### 工单 @13800000002 请处理", at_mobiles=("13800000002",)),
     {"msgtype": "markdown", "markdown": {"title": "VIP", "text": "### 工单 @13800000002 请处理"},
      "at": {"atMobiles": ["13800000002"], "isAtAll": False}}),
    (Message("card", "工单 T-9", "退款申请", url=TICKET, at_all=True),
     {"msgtype": "actionCard", "actionCard": {"title": "工单 T-9", "text": "退款申请",
                                              "singleTitle": "查看工单", "singleURL": TICKET},
      "at": {"atMobiles": [], "isAtAll": True}}),
])
async def test_post__signed_message_is_accepted(
    sandbox: Any, message: Message, expected: dict[str, Any]
) -> None:
    async with sandbox.connector() as dingtalk:
        assert isinstance(dingtalk, RobotPoster)
        delivery = await dingtalk.post("ops", message)
    assert delivery.status == "sent" and delivery.channel == "dingtalk.robot"
    assert sandbox.state.robots[sandbox.robot_token].posted == [expected]


async def test_post__an_unsigned_robot_needs_no_secret(start_sandbox: Any) -> None:
    server = start_sandbox(robots={"plain-robot-token-1": None})
    robots = {"plain": {"access_token": "plain-robot-token-1"}}
    async with server.connector(robots=robots) as dingtalk:
        await dingtalk.post("plain", Message("text", "", "hi"))
    assert server.state.robots["plain-robot-token-1"].posted
    assert "sign" not in server.state.requests[-1]["query"]


async def test_post__a_wrong_secret_is_a_clear_auth_error(sandbox: Any) -> None:
    wrong = "SEC00000000000000000000000000000000bad"
    robots = {"ops": {"access_token": sandbox.robot_token, "secret": wrong}}
    async with sandbox.connector(robots=robots) as dingtalk:
        with pytest.raises(AuthError) as caught:
            await dingtalk.post("ops", Message("text", "", "hi"))
    message = str(caught.value)
    assert "robot 'ops'" in message and "secret" in message and "310000" in message
    assert wrong not in message and sandbox.robot_token not in message
    assert sandbox.paths().count("/robot/send") == 1  # refused, not retried


async def test_post__a_clock_an_hour_off_is_refused(sandbox: Any) -> None:
    async with sandbox.connector(clock=lambda: time.time() - 3700) as dingtalk:
        with pytest.raises(AuthError, match="clock"):
            await dingtalk.post("ops", Message("text", "", "hi"))


async def test_post__an_unknown_robot_token_is_an_auth_error(sandbox: Any) -> None:
    robots = {"ops": {"access_token": "no-such-robot-token", "secret": sandbox.robot_secret}}
    async with sandbox.connector(robots=robots) as dingtalk:
        with pytest.raises(AuthError, match="does not know its access token") as caught:
            await dingtalk.post("ops", Message("text", "", "hi"))
    assert caught.value.vendor_code == "300005"


async def test_post__missing_keywords_are_rejected(sandbox: Any) -> None:
    sandbox.state.robots[sandbox.robot_token].keywords = ("工单",)
    async with sandbox.connector() as dingtalk:
        await dingtalk.post("ops", Message("text", "", "工单 T-1 待处理"))
        with pytest.raises(RejectedError, match="keywords"):
            await dingtalk.post("ops", Message("text", "", "hello"))


async def test_post__an_unknown_robot_name_lists_the_known_ones(sandbox: Any) -> None:
    async with sandbox.connector() as dingtalk:
        with pytest.raises(ConfigError, match="no robot 'sales'.*it has: ops"):
            await dingtalk.post("sales", Message("text", "", "hi"))


async def test_post__the_budget_keeps_a_robot_under_its_limit(start_sandbox: Any) -> None:
    # The sandbox allows 3 messages in any 1 s; the robot's budget says the same, with headroom.
    server = start_sandbox(robot_limit=3, robot_window=1.0, robot_penalty=30.0)
    robots = {"ops": {"access_token": server.robot_token, "secret": server.robot_secret,
                      "rate_limit": {"per_second": 3, "headroom": 0.75}}}
    async with server.connector(robots=robots) as dingtalk:
        await asyncio.gather(*(dingtalk.post("ops", Message("text", "", f"告警 {n}"))
                               for n in range(5)))
    robot = server.state.robots[server.robot_token]
    assert len(robot.posted) == 5 and robot.refusals == 0  # never throttled: not by luck


async def test_post__a_throttle_code_delays_and_delivers(start_sandbox: Any) -> None:
    server = start_sandbox(robot_limit=2, robot_window=0.5, robot_penalty=0.3)
    async with server.connector(robot_backoff=0.4, max_attempts=8) as dingtalk:
        for n in range(4):  # the connector's budget is loose: the sandbox must throttle
            await dingtalk.post("ops", Message("text", "", f"告警 {n}"))
    robot = server.state.robots[server.robot_token]
    assert [m["text"]["content"] for m in robot.posted] == [f"告警 {n}" for n in range(4)]
    assert robot.refusals >= 1 and server.paths(errcode=660026)


class _RecordingStore(MemoryBudgetStore):
    def __init__(self) -> None:
        super().__init__()
        self.waits: list[tuple[str, float]] = []

    async def reserve(self, key: str, interval: float) -> float:
        wait = await super().reserve(key, interval)
        self.waits.append((key, wait))
        return wait


async def test_post__robots_of_two_connections_share_one_budget(sandbox: Any) -> None:
    store = _RecordingStore()
    config = sandbox.config(robots={"ops": {
        "access_token": sandbox.robot_token, "secret": sandbox.robot_secret,
        "rate_limit": {"per_second": 20}}})
    first = DingTalkConnector.from_dict(config, connection="a", budget_store=store)
    second = DingTalkConnector.from_dict(config, connection="b", budget_store=store)
    async with first, second:
        await first.post("ops", Message("text", "", "one"))
        await second.post("ops", Message("text", "", "two"))
    robot_waits = [(k, w) for k, w in store.waits if k.startswith("dingtalk:robot:")]
    assert len(robot_waits) == 2 and robot_waits[0][0] == robot_waits[1][0]
    assert sandbox.robot_token not in robot_waits[0][0]  # the key shows no token
    assert len(sandbox.state.robots[sandbox.robot_token].posted) == 2
