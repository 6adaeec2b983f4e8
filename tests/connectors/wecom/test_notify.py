"""App messages (Notifier) against the sandbox: bodies, recipients, partial failures, limits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from connectors.sdk import OutcomeUnknownError, RejectedError
from connectors.sdk.messaging import Message, Recipient
from connectors.wecom.sandbox import SandboxLimits

from .conftest import EnvFactory, WeComEnv

SEND = "/cgi-bin/message/send"
URL = "https://hub.example.com/tickets/T-1024"


@pytest.mark.parametrize(("message", "msgtype", "content"), [
    (Message("text", "工单 T-1024", "客户要求退款"), "text",
     {"content": "工单 T-1024\n客户要求退款"}),
    (Message("markdown", "紧急工单", "**退款** 超时"), "markdown",
     {"content": "### 紧急工单\n**退款** 超时"}),
    (Message("card", "工单 T-1024", "VIP 客户投诉", url=URL), "textcard",
     {"title": "工单 T-1024", "description": "VIP 客户投诉", "url": URL, "btntxt": "详情"}),
], ids=["text", "markdown", "card"])
async def test_notify__each_kind_arrives_as_wecom_renders_it(
    wecom: WeComEnv, message: Message, msgtype: str, content: dict[str, Any]
) -> None:
    async with wecom.connector() as connector:
        delivery = await connector.notify(message, to=[Recipient.user("zhangsan")])
    [sent] = wecom.sandbox.inbox("zhangsan")
    assert (sent.msgtype, sent.content) == (msgtype, content)
    assert (delivery.channel, delivery.status, delivery.message_id) == (
        "wecom.app", "sent", sent.msgid)


async def test_notify__long_content_is_cut_to_the_byte_limit(wecom: WeComEnv) -> None:
    async with wecom.connector() as connector:
        await connector.notify(Message("markdown", "长", "退款" * 600),
                               to=[Recipient.user("lisi")])
        await connector.notify(Message("card", "标" * 200, "述" * 600, url=URL),
                               to=[Recipient.user("lisi")])
    markdown, card = wecom.sandbox.inbox("lisi")
    assert len(markdown.content["content"].encode()) <= 2048
    assert markdown.content["content"].endswith("…")
    assert (len(card.content["title"]), len(card.content["description"])) == (128, 512)


async def test_notify__mobiles_resolve_once_and_are_cached(wecom: WeComEnv) -> None:
    async with wecom.connector() as connector:
        for n in range(2):
            delivery = await connector.notify(
                Message("text", f"T-{n}", "x"), to=[Recipient.by_mobile("+86 138-0000-0002"),
                                                    Recipient.by_mobile("13911112222")])
    assert delivery.status == "partial"
    assert delivery.failed == ("13911112222",)
    assert "139****2222" in (delivery.detail or "")
    assert wecom.errcodes("user/getuserid") == [0, 46004]  # hits and misses both cached
    assert len(wecom.sandbox.inbox("lisi")) == 2


async def test_notify__mobile_cache_expires_after_its_ttl(wecom: WeComEnv) -> None:
    async with wecom.connector(mobile_cache_ttl=0) as connector:
        for n in range(2):
            await connector.notify(Message("text", f"T-{n}", "x"),
                                   to=[Recipient.by_mobile("13800000002")])
    assert wecom.errcodes("user/getuserid") == [0, 0]


async def test_notify__invalid_users_make_a_partial_delivery(wecom: WeComEnv) -> None:
    async with wecom.connector() as connector:
        delivery = await connector.notify(
            Message("text", "t", "x"),
            to=[Recipient.user("Sunqi"), Recipient.user("Ghost"), Recipient.user("zhaoliu")])
    assert (delivery.status, delivery.failed) == ("partial", ("Ghost",))  # our spelling
    assert "invalid user: Ghost" in (delivery.detail or "")
    assert len(wecom.sandbox.inbox("Sunqi")) == len(wecom.sandbox.inbox("zhaoliu")) == 1


async def test_notify__all_invalid_is_a_failed_delivery(wecom: WeComEnv) -> None:
    async with wecom.connector() as connector:
        delivery = await connector.notify(
            Message("text", "t", "x"),
            to=[Recipient.user("ghost1"), Recipient.by_mobile("13911112222"),
                Recipient.user("ghost2")])
    assert delivery.status == "failed"
    assert delivery.failed == ("13911112222", "ghost1", "ghost2")
    assert wecom.errcodes("message/send") == [81013]


async def test_notify__nobody_resolved_sends_nothing(wecom: WeComEnv) -> None:
    async with wecom.connector() as connector:
        delivery = await connector.notify(Message("text", "t", "x"),
                                          to=[Recipient.by_mobile("13911112222")])
        assert await connector.follow_up(delivery) is delivery
    assert (delivery.status, delivery.failed) == ("failed", ("13911112222",))
    assert wecom.log("message/send") == []


@pytest.mark.parametrize("fault", [
    {"status": 200, "body": {"errcode": -1, "errmsg": "system busy"}},
    {"status": 503},
], ids=["busy", "503"])
async def test_notify__busy_or_5xx_is_retried_and_delivered_once(
    wecom: WeComEnv, fault: dict[str, Any]
) -> None:
    wecom.faults.fail_next(1, path_prefix=SEND, **fault)
    async with wecom.connector() as connector:
        delivery = await connector.notify(Message("text", "t", "x"), to=[Recipient.user("lisi")])
    assert delivery.status == "sent"
    assert [r.outcome for r in wecom.faults.requests() if r.path == SEND] == [
        "injected", "passed"]
    assert len(wecom.sandbox.inbox("lisi")) == 1


async def test_notify__lost_answer_is_resent_and_deduplicated_by_wecom(wecom: WeComEnv) -> None:
    wecom.faults.lose_next(1, path_prefix=SEND)
    async with wecom.connector() as connector:
        delivery = await connector.notify(Message("text", "t", "x"), to=[Recipient.user("lisi")])
    assert delivery.status == "sent"
    assert len(wecom.sandbox.inbox("lisi")) == 1
    assert wecom.sandbox.counters["duplicates_dropped"] == 1


async def test_notify__identical_message_inside_the_interval_is_sent_once(
    wecom: WeComEnv
) -> None:
    async with wecom.connector() as connector:
        for _ in range(2):
            await connector.notify(Message("text", "t", "x"), to=[Recipient.user("lisi")])
    assert len(wecom.sandbox.inbox("lisi")) == 1
    async with wecom.connector(duplicate_check_interval=None) as connector:
        for _ in range(2):
            await connector.notify(Message("text", "t", "x"), to=[Recipient.user("lisi")])
    assert len(wecom.sandbox.inbox("lisi")) == 3


async def test_notify__lost_answer_without_duplicate_check_is_outcome_unknown(
    wecom: WeComEnv
) -> None:
    wecom.faults.lose_next(1, path_prefix=SEND)
    async with wecom.connector(duplicate_check_interval=None) as connector:
        with pytest.raises(OutcomeUnknownError):
            await connector.notify(Message("text", "t", "x"), to=[Recipient.user("lisi")])
    assert len(wecom.sandbox.inbox("lisi")) == 1  # it was delivered: resending would double it


async def test_notify__45009_is_waited_out_not_dropped(make_env: EnvFactory) -> None:
    wecom = make_env(limits=SandboxLimits(api=2, api_window=0.5))
    async with wecom.connector(max_retry_after=0.6) as connector:
        for n in range(3):
            await connector.notify(Message("text", f"T-{n}", "x"), to=[Recipient.user("lisi")])
    assert wecom.errcodes("message/send") == [0, 0, 45009, 0]
    assert len(wecom.sandbox.inbox("lisi")) == 3


async def test_notify__45033_backs_off_until_every_message_is_in(make_env: EnvFactory) -> None:
    wecom = make_env(limits=SandboxLimits(concurrency=1), processing_delay=0.1)
    async with wecom.connector(max_attempts=8) as connector:
        await connector.check()
        deliveries = await asyncio.gather(*(
            connector.notify(Message("text", f"T-{n}", "x"), to=[Recipient.user("lisi")])
            for n in range(3)))
    assert all(d.status == "sent" for d in deliveries)
    assert 45033 in wecom.errcodes("message/send")
    assert len(wecom.sandbox.inbox("lisi")) == 3


@pytest.mark.parametrize(("member_rate_limit", "delivered"), [
    (None, 2),                    # no budget: WeCom answers 0 and silently drops the rest
    # The budget waits for the member's window instead; a headroom of 0.6 spaces the sends
    # 0.83 s apart, so a loaded machine's jitter cannot bunch three arrivals into one second.
    ({"per_second": 2, "headroom": 0.6}, 4),
], ids=["unbudgeted-loses", "budgeted-delivers"])
async def test_notify__per_member_limit_is_kept_by_the_budget(
    make_env: EnvFactory, member_rate_limit: dict[str, float] | None, delivered: int
) -> None:
    wecom = make_env(limits=SandboxLimits(member=2, member_window=1.0))
    async with wecom.connector(member_rate_limit=member_rate_limit) as connector:
        for n in range(4):
            delivery = await connector.notify(Message("text", f"T-{n}", "x"),
                                              to=[Recipient.user("wangwu")])
            assert delivery.status == "sent"  # WeCom says 0 either way
    assert len(wecom.sandbox.inbox("wangwu")) == delivered
    assert wecom.sandbox.counters["silently_dropped"] == 4 - delivered


async def test_notify__refusal_names_connection_operation_and_code(wecom: WeComEnv) -> None:
    async with wecom.connector() as connector:
        with pytest.raises(RejectedError) as caught:
            await connector.notify(Message("card", "t", "x", url="hub.example.com/t/1"),
                                   to=[Recipient.user("lisi")])
    message = str(caught.value)
    assert message.startswith("connection 'wecom', message.send: textcard url needs a scheme")
    assert message.endswith("(40058)") and "hint: [" in message  # errmsg kept verbatim
    assert len(wecom.log("message/send")) == 1  # a refusal is not retried
