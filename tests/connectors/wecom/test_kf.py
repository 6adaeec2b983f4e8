"""微信客服 (kf) over loopback: the connector's four calls against the sandbox's protocol —
accounts paged, sync_msg always naming the account (the popular SDK's bug refused), cursor
paging with has_more and empty pages, the push's Token (expired: synced without), send_msg's
window (95001 / 95002 / 95018) and msgid rules, customers' names; faults like any call."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from connectors.sdk import OutcomeUnknownError, RejectedError, TransientError
from connectors.wecom.kf import KfChannel, message_text, new_msgid
from connectors.wecom.sandbox import KfSandbox

from .conftest import CORP_ID, Receiver, WeComEnv

KF_ID = "wkSandboxAfterSales000000000001"


def kf(wecom: WeComEnv) -> KfSandbox:
    state: KfSandbox = wecom.app.state.kf
    return state


def test_connector__is_a_kf_channel(wecom: WeComEnv) -> None:
    assert isinstance(wecom.connector(), KfChannel)


async def test_accounts__listed_through_pages_of_100(wecom: WeComEnv) -> None:
    for n in range(130):
        kf(wecom).add_account(f"wkExtra{n:03d}", f"账号{n}")
    connector = wecom.connector()
    accounts = await connector.kf_accounts()
    await connector.aclose()
    assert len(accounts) == 131 and accounts[0].open_kfid == KF_ID
    assert [r["api"] for r in wecom.log("kf/account/list")] == ["kf/account/list"] * 2


async def test_sync__pages_from_the_cursor_until_has_more_is_0(wecom: WeComEnv) -> None:
    state = kf(wecom)
    state.empty_pages = 3  # every third page answered empty, has_more 1 (as observed)
    sent = [state.customer_says(KF_ID, "wmA", text=f"m{n}")["msgid"] for n in range(11)]
    connector = wecom.connector(kf_sync_limit=4)
    seen: list[str] = []
    cursor = None
    while True:
        page = await connector.kf_sync(KF_ID, cursor=cursor)
        seen += [m["msgid"] for m in page.messages]
        cursor = page.next_cursor
        if not page.has_more:
            break
    await connector.aclose()
    assert seen == sent
    assert all(c["open_kfid"] == KF_ID and c["limit"] == 4 for c in state.sync_calls)
    assert any(c["cursor"] == "" for c in state.sync_calls)
    assert all(len(c["cursor"].encode()) <= 64 for c in state.sync_calls)


async def test_sync__a_call_without_open_kfid_is_refused_as_wecom_does(
    wecom: WeComEnv
) -> None:
    async with httpx.AsyncClient(base_url=wecom.url) as client:
        token = (await client.get("/cgi-bin/gettoken", params={
            "corpid": CORP_ID, "corpsecret": "wecom-test-app-secret-8f3a2c71"})).json()
        answer = (await client.post("/cgi-bin/kf/sync_msg", params={
            "access_token": token["access_token"]}, json={"cursor": "", "limit": 10})).json()
    assert answer["errcode"] == 40058 and "invalid Request Parameter" in answer["errmsg"]
    connector = wecom.connector()
    with pytest.raises(ValueError, match="open_kfid"):
        await connector.kf_sync("", cursor=None)
    await connector.aclose()


async def test_sync__an_expired_push_token_is_dropped_and_the_page_read_without(
    wecom: WeComEnv
) -> None:
    clock = [time.time()]
    state = kf(wecom)
    state.clock = lambda: clock[0]
    state.customer_says(KF_ID, "wmB", text="你好")
    token = state.push_token(KF_ID)
    clock[0] += 601  # a Token is good for 10 minutes
    connector = wecom.connector()
    page = await connector.kf_sync(KF_ID, cursor=None, token=token)
    await connector.aclose()
    assert [m["text"]["content"] for m in page.messages] == ["你好"]
    assert [c["token"] for c in state.sync_calls] == [True, False]
    assert wecom.errcodes("kf/sync_msg") == [95007, 0]


async def test_sync__only_the_last_3_days_are_readable(wecom: WeComEnv) -> None:
    state = kf(wecom)
    state.customer_says(KF_ID, "wmC", text="old", send_time=time.time() - 4 * 86400)
    state.customer_says(KF_ID, "wmC", text="new")
    connector = wecom.connector()
    page = await connector.kf_sync(KF_ID, cursor=None)
    await connector.aclose()
    assert [message_text(m) for m in page.messages] == ["new"]


async def test_send__five_per_customer_message_then_95001(wecom: WeComEnv) -> None:
    state = kf(wecom)
    state.customer_says(KF_ID, "wmD", text="在吗")
    connector = wecom.connector()
    for n in range(5):
        msgid = new_msgid()
        assert await connector.kf_send_text(KF_ID, to="wmD", text=f"r{n}", msgid=msgid) == msgid
    with pytest.raises(RejectedError) as refused:
        await connector.kf_send_text(KF_ID, to="wmD", text="r5", msgid=new_msgid())
    state.customer_says(KF_ID, "wmD", text="还有一个问题")  # a new window
    await connector.kf_send_text(KF_ID, to="wmD", text="请讲", msgid=new_msgid())
    await connector.aclose()
    assert refused.value.vendor_code == "95001"
    assert len(state.sent_to("wmD")) == 6


@pytest.mark.parametrize(("setup", "code"), [
    ("old", "95002"), ("never", "95018"), ("used_msgid", "40058")])
async def test_send__refusals_name_their_code(wecom: WeComEnv, setup: str, code: str) -> None:
    state = kf(wecom)
    if setup == "old":
        state.customer_says(KF_ID, "wmE", text="hi", send_time=time.time() - 49 * 3600)
    elif setup == "used_msgid":
        state.customer_says(KF_ID, "wmE", text="hi")
    connector = wecom.connector()
    if setup == "used_msgid":
        await connector.kf_send_text(KF_ID, to="wmE", text="a", msgid="same-id")
    with pytest.raises(RejectedError) as refused:
        await connector.kf_send_text(KF_ID, to="wmE", text="b", msgid="same-id")
    await connector.aclose()
    assert refused.value.vendor_code == code
    assert len(state.sent_to("wmE")) == (1 if setup == "used_msgid" else 0)


async def test_send__a_lost_answer_or_5xx_is_not_resent_by_the_client(wecom: WeComEnv) -> None:
    kf(wecom).customer_says(KF_ID, "wmF", text="hi")
    connector = wecom.connector(max_attempts=3)
    wecom.faults.lose_next(1, path_prefix="/cgi-bin/kf/send_msg")
    with pytest.raises(OutcomeUnknownError):
        await connector.kf_send_text(KF_ID, to="wmF", text="a", msgid="m-lost")
    wecom.faults.fail_next(1, status=502, path_prefix="/cgi-bin/kf/send_msg")
    with pytest.raises(TransientError):
        await connector.kf_send_text(KF_ID, to="wmF", text="b", msgid="m-502")
    await connector.aclose()
    assert len(wecom.log("kf/send_msg")) == 1  # the lost one; the 502 never reached it
    assert [m.msgid for m in kf(wecom).sent_to("wmF")] == ["m-lost"]


async def test_reads__are_retried_through_faults_and_audited(wecom: WeComEnv) -> None:
    kf(wecom).customer_says(KF_ID, "wmG", text="hi")
    connector = wecom.connector(max_attempts=3, max_retry_after=0.01)
    wecom.faults.fail_next(1, status=503, path_prefix="/cgi-bin/kf/sync_msg")
    wecom.faults.drop_next(1, path_prefix="/cgi-bin/kf/customer/batchget")
    page = await connector.kf_sync(KF_ID, cursor=None)
    customers = await connector.kf_customers(["wmG", "wmUnknown"])
    await connector.aclose()
    assert len(page.messages) == 1
    assert [(c.external_userid, c.nickname) for c in customers] == [("wmG", "客户1")]
    operations = [c.operation for c in wecom.calls]
    assert operations.count("kf.sync_msg") == 2 and operations.count("kf.customer.batchget") == 2


def test_push__the_kf_event_reaches_a_receiver_with_its_account(
    wecom: WeComEnv, receiver: Receiver
) -> None:
    token = kf(wecom).push_token(KF_ID)
    answer = wecom.callbacks.deliver(receiver.url, wecom.callbacks.kf_event(
        open_kfid=KF_ID, token=token))
    assert answer.status_code == 200 and answer.content == b""
    [event] = receiver.events
    assert (event.event_type, event.sender) == ("event.kf_msg_or_event", KF_ID)
    assert event.payload["Token"] == token and token not in event.event_id


@pytest.mark.parametrize(("message", "shown"), [
    ({"msgtype": "text", "text": {"content": "查订单", "menu_id": "201"}},
     "查订单 [menu click 201]"),
    ({"msgtype": "file", "file": {"media_id": "F1"}}, "[file media_id=F1]"),
    ({"msgtype": "link", "link": {"title": "订单", "url": "https://x/1"}}, "[link 订单 https://x/1]"),
    ({"msgtype": "event", "event": {"event_type": "enter_session"}}, "[event enter_session]"),
    ({"msgtype": "sticker"}, "[sticker]"),
])
def test_message_text__what_a_ticket_shows(message: dict[str, Any], shown: str) -> None:
    assert message_text(message) == shown
