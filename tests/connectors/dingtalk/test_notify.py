"""Work notifications against the sandbox: formats, mobiles, batches, follow-up, limits."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from connectors.dingtalk.client import GETBYMOBILE_PATH, WORK_NOTICE_PATH
from connectors.sdk import OutcomeUnknownError, TransientError
from connectors.sdk.messaging import Delivery, Message, Notifier, Recipient

TICKET = "https://hub.example.test/tickets/T-1001"


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("message", "expected"), [
    (Message("text", "工单 T-1001", "客户来电：退款"),
     {"msgtype": "text", "text": {"content": "工单 T-1001\n客户来电：退款"}}),
    (Message("markdown", "VIP 工单", "## 退款\n**紧急**"),
     {"msgtype": "markdown", "markdown": {"title": "VIP 工单", "text": "## 退款\n**紧急**"}}),
    (Message("card", "工单 T-1001", "**发票** 问题", url=TICKET),
     {"msgtype": "action_card", "action_card": {
         "title": "工单 T-1001", "markdown": "**发票** 问题", "single_title": "查看工单",
         "single_url": TICKET}}),
])
async def test_notify__sends_each_kind_as_dingtalk_expects(
    sandbox: Any, message: Message, expected: dict[str, Any]
) -> None:
    async with sandbox.connector() as dingtalk:
        assert isinstance(dingtalk, Notifier)
        delivery = await dingtalk.notify(message, to=[Recipient.user("user001")])
    assert delivery.status == "pending" and delivery.channel == "dingtalk.work_notice"
    assert sandbox.state.messages_to("user001") == [expected]
    assert delivery.message_id == str(next(iter(sandbox.state.tasks)))


async def test_notify__resolves_mobiles_once_per_ttl(start_sandbox: Any) -> None:
    clock = _Clock()
    server = start_sandbox(clock=clock)
    async with server.connector(clock=clock, mobile_cache_ttl=600) as dingtalk:
        for n in range(3):
            await dingtalk.notify(Message("text", "", f"第 {n} 条"),
                                  to=[Recipient.by_mobile("13800000002")])
        clock.now += 601
        await dingtalk.notify(Message("text", "", "再来一条"),
                              to=[Recipient.by_mobile(" 13800000002 ")])
    assert server.paths().count(GETBYMOBILE_PATH) == 2
    assert len(server.state.messages_to("user002")) == 4


async def test_notify__unknown_mobiles_are_reported_failed(sandbox: Any) -> None:
    async with sandbox.connector() as dingtalk:
        some = await dingtalk.notify(Message("text", "", "hi"), to=[
            Recipient.by_mobile("13800000003"), Recipient.by_mobile("19900000000")])
        none = await dingtalk.notify(Message("text", "", "hi"), to=[
            Recipient.by_mobile("19900000001")])
    assert some.status == "pending" and some.failed == ("19900000000",)
    assert none == Delivery("dingtalk.work_notice", "failed", failed=("19900000001",),
                            detail="no recipient resolved to a DingTalk user")
    assert sandbox.paths().count(WORK_NOTICE_PATH) == 1


async def test_notify__splits_recipients_into_batches_of_100(start_sandbox: Any) -> None:
    users = {f"staff{n:03d}": f"1390000{n:04d}" for n in range(150)}
    server = start_sandbox(users=users)
    async with server.connector() as dingtalk:
        delivery = await dingtalk.notify(Message("text", "", "全员通知"),
                                         to=[Recipient.user(u) for u in users])
        result = await dingtalk.follow_up(delivery)
    sizes = sorted(len(t.unread) for t in server.state.tasks.values())
    assert sizes == [50, 100]
    assert delivery.message_id is not None and len(delivery.message_id.split(",")) == 2
    assert result.status == "sent" and result.failed == ()


async def test_follow_up__reports_invalid_and_duplicate_recipients(sandbox: Any) -> None:
    message = Message("text", "工单 T-7", "同样的内容")
    async with sandbox.connector() as dingtalk:
        first = await dingtalk.notify(message, to=[Recipient.user("user004"),
                                                   Recipient.user("ghost01")])
        again = await dingtalk.notify(message, to=[Recipient.user("user004")])
        first_result = await dingtalk.follow_up(first)
        again_result = await dingtalk.follow_up(again)
        unchanged = await dingtalk.follow_up(first_result)
    assert first_result.status == "partial" and first_result.failed == ("ghost01",)
    assert again_result.status == "failed" and again_result.failed == ("user004",)  # 143106
    assert unchanged is first_result  # only pending deliveries are asked about


async def test_follow_up__stays_pending_while_dingtalk_is_sending(start_sandbox: Any) -> None:
    server = start_sandbox(task_polls=1)
    async with server.connector() as dingtalk:
        delivery = await dingtalk.notify(Message("text", "", "x"), to=[Recipient.user("user001")])
        still = await dingtalk.follow_up(delivery)
        done = await dingtalk.follow_up(still)
    assert still == delivery
    assert done.status == "sent"


async def test_notify__shortens_text_to_fit_2048_bytes(sandbox: Any) -> None:
    long_text = "客户反馈：" + "设备告警，需要尽快处理。" * 300
    async with sandbox.connector() as dingtalk:
        delivery = await dingtalk.notify(Message("card", "工单", long_text, url=TICKET),
                                         to=[Recipient.user("user005")])
    [sent] = sandbox.state.messages_to("user005")
    size = len(json.dumps(sent, ensure_ascii=False, separators=(",", ":")).encode())
    assert size <= 2048
    assert sent["action_card"]["single_url"] == TICKET
    assert sent["action_card"]["markdown"].endswith("…")
    assert delivery.detail is not None and "2048" in delivery.detail


async def test_notify__rate_limit_code_delays_and_delivers_every_message(
    start_sandbox: Any
) -> None:
    server = start_sandbox(app_qps=2)
    async with server.connector(max_attempts=8) as dingtalk:
        deliveries = await asyncio.gather(*(
            dingtalk.notify(Message("text", "", f"消息 {n}"), to=[Recipient.user("user006")])
            for n in range(5)))
    assert all(d.status == "pending" for d in deliveries)
    assert len(server.state.messages_to("user006")) == 5  # none dropped
    assert server.paths(errcode=90018)  # ...though DingTalk did say "too fast"


async def test_notify__a_5xx_on_the_send_is_not_repeated(sandbox: Any) -> None:
    sandbox.faults.fail_next(1, status=503, path_prefix=WORK_NOTICE_PATH)
    async with sandbox.connector() as dingtalk:
        with pytest.raises(TransientError):
            await dingtalk.notify(Message("text", "", "x"), to=[Recipient.user("user001")])
    assert [r.result for r in sandbox.faults.requests() if r.path == WORK_NOTICE_PATH] == [503]


async def test_notify__a_lost_answer_is_an_unknown_outcome(sandbox: Any) -> None:
    sandbox.faults.lose_next(path_prefix=WORK_NOTICE_PATH)
    async with sandbox.connector() as dingtalk:
        with pytest.raises(OutcomeUnknownError):
            await dingtalk.notify(Message("text", "", "x"), to=[Recipient.user("user001")])
    assert len(sandbox.state.tasks) == 1  # DingTalk did accept it
