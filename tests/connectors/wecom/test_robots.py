"""Group robots (RobotPoster) against the sandbox: bodies, mentions, keys and the 20/min limit."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sdk import ConfigError, OutcomeUnknownError
from connectors.sdk.messaging import Message
from connectors.wecom.connector import WeComConfig
from connectors.wecom.sandbox import SandboxLimits

from .conftest import ROBOT_KEY, EnvFactory, WeComEnv

ROBOT = "/cgi-bin/webhook/send"


def received(wecom: WeComEnv, robot: str = "ops") -> list[dict[str, Any]]:
    return [{k: v for k, v in m.items() if k != "at"}
            for m in wecom.sandbox.robot_messages[robot]]


@pytest.mark.parametrize(("message", "expected"), [
    (Message("text", "告警", "泵站 7 离线", at_mobiles=("+86 138 0000 0001",)),
     {"msgtype": "text", "content": "告警\n泵站 7 离线",
      "mentioned_mobile_list": ["13800000001"]}),
    (Message("text", "", "全员注意", at_all=True),
     {"msgtype": "text", "content": "全员注意", "mentioned_mobile_list": ["@all"]}),
    (Message("markdown", "VIP 工单", "**客户** 投诉", at_mobiles=("13800000001",)),
     {"msgtype": "markdown", "content": "### VIP 工单\n**客户** 投诉\n<@zhangsan>"}),
    (Message("card", "工单 T-9", "请处理", url="https://hub.example.com/t/9"),
     {"msgtype": "markdown",
      "content": "### 工单 T-9\n请处理\n[详情](https://hub.example.com/t/9)"}),
], ids=["text-mention", "text-all", "markdown-mention", "card"])
async def test_post__arrives_as_the_robot_shows_it(
    wecom: WeComEnv, message: Message, expected: dict[str, Any]
) -> None:
    async with wecom.connector() as connector:
        delivery = await connector.post("ops", message)
    assert (delivery.channel, delivery.status) == ("wecom.robot", "sent")
    assert received(wecom) == [expected]


async def test_post__markdown_mention_that_does_not_resolve_is_partial(wecom: WeComEnv) -> None:
    async with wecom.connector() as connector:
        delivery = await connector.post("ops", Message(
            "markdown", "t", "x", at_mobiles=("13800000002", "13911112222")))
    assert (delivery.status, delivery.failed) == ("partial", ("13911112222",))
    assert received(wecom)[0]["content"].endswith("<@lisi>")


async def test_post__markdown_cannot_mention_everyone(wecom: WeComEnv) -> None:
    async with wecom.connector() as connector:
        with pytest.raises(ValueError, match="@all"):
            await connector.post("ops", Message("markdown", "t", "x", at_all=True))
    assert wecom.log("webhook/send") == []


async def test_post__unknown_robot_name_lists_the_known_ones(wecom: WeComEnv) -> None:
    async with wecom.connector() as connector:
        with pytest.raises(ConfigError, match="no robot 'sales'; this connection has: ops"):
            await connector.post("sales", Message("text", "t", "x"))


@pytest.mark.parametrize(("setup", "code"), [
    ("wrong-key", "93000"), ("disabled", "93004")])
async def test_post__unusable_robot_key_is_a_config_error(
    wecom: WeComEnv, setup: str, code: str
) -> None:
    key = "not-the-robot-key-000" if setup == "wrong-key" else ROBOT_KEY
    if setup == "disabled":
        wecom.sandbox.disabled_robots.add("ops")
    async with wecom.connector(robots={"ops": {"key": key}}) as connector:
        with pytest.raises(ConfigError) as caught:
            await connector.post("ops", Message("text", "t", "x"))
    assert caught.value.vendor_code == code
    assert str(caught.value).startswith("connection 'wecom', robot.send: ")
    assert key not in str(caught.value)
    assert len(wecom.log("webhook/send")) == 1  # a configuration error is not retried


async def test_post__budget_keeps_under_the_robot_limit(make_env: EnvFactory) -> None:
    wecom = make_env(limits=SandboxLimits(robot=3, robot_window=1.0))
    robots = {"ops": {"key": ROBOT_KEY, "rate_limit": {"per_second": 3}}}
    async with wecom.connector(robots=robots) as connector:
        for n in range(6):
            await connector.post("ops", Message("text", "t", f"消息 {n}"))
    assert wecom.errcodes("webhook/send") == [0] * 6
    assert [m["content"] for m in received(wecom)] == [f"t\n消息 {n}" for n in range(6)]


async def test_post__45009_is_waited_out_not_dropped(make_env: EnvFactory) -> None:
    wecom = make_env(limits=SandboxLimits(robot=2, robot_window=0.5))
    async with wecom.connector(max_retry_after=0.6) as connector:  # robot budget: unlimited
        for n in range(4):
            assert (await connector.post("ops", Message("text", "t", f"{n}"))).status == "sent"
    assert 45009 in wecom.errcodes("webhook/send")
    assert [m["content"] for m in received(wecom)] == [f"t\n{n}" for n in range(4)]


async def test_post__lost_answer_is_outcome_unknown_not_resent(wecom: WeComEnv) -> None:
    wecom.faults.lose_next(1, path_prefix=ROBOT)
    async with wecom.connector() as connector:
        with pytest.raises(OutcomeUnknownError):
            await connector.post("ops", Message("text", "t", "x"))
    assert len(received(wecom)) == 1  # robots have no duplicate check: a resend would double


def test_config__robot_budget_defaults_to_wecoms_20_a_minute() -> None:
    config = WeComConfig.model_validate({
        "corp_id": "ww1", "corp_secret": "s3cret-value", "agent_id": 1,
        "robots": {"ops": {"key": "k-123456"}}})
    assert config.robots["ops"].rate_limit.interval >= 60 / 20
