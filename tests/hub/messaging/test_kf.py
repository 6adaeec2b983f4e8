"""微信客服 (kf) as a channel: a push is acknowledged and its account synced after the
answer; customers' messages become tickets per conversation; replies go out through
send_msg only inside WeCom's window (48 h, 5 messages), refused with the reason otherwise;
a reply whose answer was lost is sent again with its msgid and delivered once."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

import cli
from connectors.wecom.sandbox import KfSandbox
from hub.errors import ConfigFileError, ConflictError, InvalidRequestError
from hub.runtime import Hub
from hub.scheduler.run import run_job
from hub.store.models import (
    AuditRecord,
    KfCursor,
    KfMessage,
    KfReply,
    Run,
    Ticket,
    WebhookEvent,
)
from hub.tickets.inbound import receive_webhook
from hub.tickets.kf import reply_to_ticket, resend_reply, sync_account

from .conftest import WEBHOOKS, MessagingHub, Sandboxes, leaked, rows

ACCOUNT = "wkSandboxAfterSales000000000001"
KF_WEBHOOKS = {**WEBHOOKS, "wecom": {"mapping": "wecom_inbound_ticket",
                                     "events": ["text", "event.kf_msg_or_event"]}}


def kf(sandboxes: Sandboxes) -> KfSandbox:
    state: KfSandbox = sandboxes.wecom_app.state.kf
    return state


def kf_hub(messaging_hub: MessagingHub, **wecom: Any) -> Hub:
    return messaging_hub(webhooks=KF_WEBHOOKS, enrich=False, wecom=wecom or None)


async def push(hub: Hub, sandboxes: Sandboxes, open_kfid: str = ACCOUNT) -> Any:
    callback = sandboxes.callbacks.kf_event(open_kfid=open_kfid,
                                            token=kf(sandboxes).push_token(open_kfid))
    return await receive_webhook(hub, "wecom", method="POST", query=callback.query,
                                 body=callback.body)


def by_id(hub: Hub, model: Any) -> list[Any]:
    """Every row of `model` in id order (PostgreSQL returns rows in no set order)."""
    return sorted(rows(hub, model), key=lambda row: row.id)


def send_msg_calls(sandboxes: Sandboxes) -> int:
    return sum(1 for r in sandboxes.wecom.requests if r["api"] == "kf/send_msg")


async def test_push__is_answered_then_its_account_synced_into_tickets(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = kf_hub(messaging_hub, kf_sync_limit=2)
    state = kf(sandboxes)
    state.customer_says(ACCOUNT, "wmAlice", text="退款还没到账")
    state.customer_says(ACCOUNT, "wmAlice", "image", {"media_id": "MEDIA_A1"})
    state.customer_says(ACCOUNT, "wmAlice", text="人工客服", content={
        "content": "人工客服", "menu_id": "101"})
    state.customer_says(ACCOUNT, "wmAlice", "event", {"event_type": "enter_session"}, origin=4)
    state.customer_says(ACCOUNT, "wmBob", "location", {
        "name": "门店", "address": "上海市", "latitude": 31.2, "longitude": 121.4})

    result = await push(hub, sandboxes)
    assert result.outcome == "sync" and result.after is not None
    assert by_id(hub, KfMessage) == []  # nothing synced before the answer
    await result.after()

    tickets = {t.external_ref: t for t in by_id(hub, Ticket)}
    assert set(tickets) == {f"wecom_kf:{ACCOUNT}:wmAlice", f"wecom_kf:{ACCOUNT}:wmBob"}
    alice = tickets[f"wecom_kf:{ACCOUNT}:wmAlice"]
    assert alice.channel == "wechat" and alice.subject == "退款还没到账"
    assert alice.contact_name == "客户1"  # the nickname from customer/batchget
    lines = alice.description.split("\n\n")
    assert [line.split("] ", 1)[1] for line in lines] == [
        "退款还没到账", "[image media_id=MEDIA_A1]", "人工客服 [menu click 101]"]
    assert "门店 上海市" in tickets[f"wecom_kf:{ACCOUNT}:wmBob"].description
    stored = by_id(hub, KfMessage)
    assert len(stored) == 5
    assert [m.ticket_id for m in stored if m.origin == 4] == [None]  # events join no ticket
    cursor = rows(hub, KfCursor)[0]
    assert cursor.messages == 5 and cursor.version == 3  # three pages of two
    assert [e.status for e in by_id(hub, WebhookEvent)] == ["sync"]
    assert all(call["open_kfid"] == ACCOUNT and call["token"] for call in state.sync_calls)

    again = await push(hub, sandboxes)  # a new push with nothing new: nothing doubles
    assert again.after is not None
    await again.after()
    assert len(by_id(hub, KfMessage)) == 5 and len(by_id(hub, Ticket)) == 2


async def test_push__its_sync_token_is_kept_nowhere(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = kf_hub(messaging_hub)
    token = kf(sandboxes).push_token(ACCOUNT)
    callback = sandboxes.callbacks.kf_event(open_kfid=ACCOUNT, token=token)
    result = await receive_webhook(hub, "wecom", method="POST", query=callback.query,
                                   body=callback.body)
    assert result.outcome == "sync" and result.event_id and token not in result.event_id
    stored = by_id(hub, WebhookEvent)[0]
    assert token not in str(stored.payload) and token not in stored.event_id
    assert not leaked(" ".join(str(a.detail) for a in rows(hub, AuditRecord)), {token})


async def test_sync__without_a_push_uses_no_token_and_always_names_the_account(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = kf_hub(messaging_hub, kf_sync_limit=3)
    state = kf(sandboxes)
    for n in range(7):
        state.customer_says(ACCOUNT, "wmCarol", text=f"第{n}条")
    result = await sync_account(hub, "wecom", ACCOUNT, actor="cli")
    assert (result.pages, result.stored, len(result.opened)) == (3, 7, 1)
    assert [c["open_kfid"] for c in state.sync_calls] == [ACCOUNT] * 3
    assert not any(c["token"] for c in state.sync_calls)
    audited = [a.action for a in rows(hub, AuditRecord)]
    assert audited.count("kf.sync.page") == 3
    calls = [a.target for a in rows(hub, AuditRecord) if a.action == "http.call"]
    assert calls.count("wecom:kf.sync_msg") == 3  # every vendor call audited


async def synced_ticket(hub: Hub, sandboxes: Sandboxes, customer: str, *,
                        sent_at: float | None = None) -> int:
    kf(sandboxes).customer_says(ACCOUNT, customer, text="在吗", send_time=sent_at)
    await sync_account(hub, "wecom", ACCOUNT, actor="cli", follow_up=False)
    ticket = next(t for t in by_id(hub, Ticket) if t.external_ref.endswith(customer))
    return int(ticket.id)


async def test_reply__five_per_customer_message_then_refused_without_a_call(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = kf_hub(messaging_hub)
    ticket_id = await synced_ticket(hub, sandboxes, "wmDave")
    assert next(t for t in by_id(hub, Ticket) if t.id == ticket_id).first_response_at is None
    for n in range(5):
        sent = await reply_to_ticket(hub, ticket_id, f"回复{n}", actor="agent:li")
        assert sent.status == "sent" and sent.attempts == 1
    replies = by_id(hub, KfReply)
    answered = next(t for t in by_id(hub, Ticket) if t.id == ticket_id).first_response_at
    assert answered is not None and answered == replies[0].sent_at  # the first reply sent
    with pytest.raises(ConflictError, match="reply window full.*at most 5"):
        await reply_to_ticket(hub, ticket_id, "第六条", actor="agent:li")
    assert send_msg_calls(sandboxes) == 5
    assert [m.msgid for m in kf(sandboxes).sent_to("wmDave")] == [
        r.msgid for r in by_id(hub, KfReply)]

    await synced_ticket(hub, sandboxes, "wmDave")  # the customer writes: a new window
    assert (await reply_to_ticket(hub, ticket_id, "好的", actor="agent:li")).status == "sent"
    assert len(kf(sandboxes).sent_to("wmDave")) == 6
    assert "kf.reply.sent" in [a.action for a in rows(hub, AuditRecord)]


async def test_reply__after_48_hours_is_refused_with_the_reason_and_no_call(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = kf_hub(messaging_hub)
    ticket_id = await synced_ticket(hub, sandboxes, "wmErin", sent_at=time.time() - 49 * 3600)
    with pytest.raises(ConflictError, match="more than 48 hours ago"):
        await reply_to_ticket(hub, ticket_id, "抱歉久等", actor="agent:li")
    assert send_msg_calls(sandboxes) == 0 and by_id(hub, KfReply) == []
    # The hub's clock says the window is open, WeCom's says closed: its refusal is kept.
    late = await reply_to_ticket(hub, ticket_id, "抱歉久等", actor="agent:li",
                                 now=datetime.fromtimestamp(time.time() - 2 * 3600, UTC))
    assert (late.status, late.error_code) == ("failed", 95002)


async def test_reply__a_lost_answer_is_resent_with_its_msgid_and_delivered_once(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = kf_hub(messaging_hub)
    ticket_id = await synced_ticket(hub, sandboxes, "wmFrank")
    sandboxes.wecom_faults.lose_next(1, path_prefix="/cgi-bin/kf/send_msg")
    reply = await reply_to_ticket(hub, ticket_id, "已为您退款", actor="agent:li")
    assert reply.status == "sent" and reply.attempts == 2
    assert reply.error and "earlier attempt" in reply.error
    assert len(kf(sandboxes).sent_to("wmFrank")) == 1

    sandboxes.wecom_faults.lose_next(3, path_prefix="/cgi-bin/kf/send_msg")
    sandboxes.wecom_faults.fail_next(3, status=502, path_prefix="/cgi-bin/kf/send_msg")
    lost = await reply_to_ticket(hub, ticket_id, "还有问题吗", actor="agent:li")
    assert lost.status == "unknown" and "hub kf resend" in (lost.error or "")
    assert len(kf(sandboxes).sent_to("wmFrank")) == 2  # the first attempt got through
    sandboxes.wecom_faults.reset()
    again = await resend_reply(hub, lost.id, actor="agent:li")
    assert again.status == "sent"
    assert len(kf(sandboxes).sent_to("wmFrank")) == 2


async def test_reply__a_ticket_that_is_not_a_kf_conversation_is_refused(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = kf_hub(messaging_hub)
    callback = sandboxes.callbacks.text(sender="lisi", content="打印机坏了")
    result = await receive_webhook(hub, "wecom", method="POST", query=callback.query,
                                   body=callback.body)
    assert result.ticket_id is not None
    with pytest.raises(InvalidRequestError, match="not a 微信客服 conversation"):
        await reply_to_ticket(hub, result.ticket_id, "收到", actor="agent:li")
    assert send_msg_calls(sandboxes) == 0


async def test_api__post_replies_sends_or_answers_409_with_the_reason(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, api_client: Any
) -> None:
    hub = kf_hub(messaging_hub)
    ticket_id = await synced_ticket(hub, sandboxes, "wmGrace",
                                    sent_at=time.time() - 3 * 24 * 3600 + 60)
    with api_client(hub, role="agent") as client:
        refused = client.post(f"/tickets/{ticket_id}/replies", json={"text": "您好"})
        assert refused.status_code == 409
        assert "more than 48 hours ago" in refused.text
        await synced_ticket(hub, sandboxes, "wmGrace")
        sent = client.post(f"/tickets/{ticket_id}/replies", json={"text": "您好"})
        assert sent.status_code == 201, sent.text
        assert sent.json()["status"] == "sent" and len(sent.json()["msgid"]) == 32
        empty = client.post(f"/tickets/{ticket_id}/replies", json={"text": ""})
        assert empty.status_code == 422
    assert send_msg_calls(sandboxes) == 1


async def test_push__over_http_is_answered_empty_then_its_messages_become_a_ticket(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, api_client: Any
) -> None:
    hub = kf_hub(messaging_hub)
    with api_client(hub, role="agent") as api:
        answer = httpx.post(f"{sandboxes.wecom_url}/_sandbox/kf/messages", json={
            "open_kfid": ACCOUNT, "external_userid": "wmHenry", "text": "发票开错了",
            "push_to": f"{api.base_url}/webhooks/wecom"}, timeout=30).json()
        assert answer["push"] == {"status": 200, "body": ""}
        deadline = time.monotonic() + 30
        while not by_id(hub, Ticket):  # synced after the answer
            assert time.monotonic() < deadline, "the push's sync never stored the message"
            await asyncio.sleep(0.05)
    [ticket] = by_id(hub, Ticket)
    assert ticket.subject == "发票开错了" and ticket.external_ref.endswith(":wmHenry")


def test_cli__reply_outside_the_window_exits_5_with_the_reason(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    hub = kf_hub(messaging_hub)
    ticket_id = asyncio.run(synced_ticket(hub, sandboxes, "wmIvy",
                                          sent_at=time.time() - 50 * 3600))
    settings = hub.settings
    monkeypatch.setenv("HUB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HUB_CONFIG", str(settings.config))
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(settings.mappings_dir))
    monkeypatch.setenv("COLUMNS", "300")
    assert cli.main(["kf", "reply", str(ticket_id), "您好"]) == 5
    assert "more than 48 hours ago" in capsys.readouterr().err
    assert send_msg_calls(sandboxes) == 0
    asyncio.run(synced_ticket(hub, sandboxes, "wmIvy"))
    assert cli.main(["kf", "reply", str(ticket_id), "您好"]) == 0
    assert f"on ticket {ticket_id}: sent" in capsys.readouterr().out


async def test_job__kf_sync_runs_on_the_scheduler_and_records_its_counts(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(webhooks=KF_WEBHOOKS, enrich=False, jobs={
        "wecom_kf": {"kind": "kf_sync", "connection": "wecom", "accounts": [ACCOUNT]}})
    for n in range(3):
        kf(sandboxes).customer_says(ACCOUNT, f"wmJob{n}", text=f"问题{n}")
    outcome = await run_job(hub, "wecom_kf", trigger="schedule")
    assert outcome.status == "succeeded"
    [run] = by_id(hub, Run)
    assert (run.job, run.kind, run.read, run.skipped) == ("wecom_kf", "kf_sync", 3, 0)
    assert len(by_id(hub, Ticket)) == 3
    assert {a.actor for a in rows(hub, AuditRecord) if a.action == "kf.sync.page"} == {
        "job:wecom_kf"}


def test_job__kf_sync_on_a_connection_that_is_not_wecom_is_a_config_error(
    messaging_hub: MessagingHub
) -> None:
    hub = messaging_hub(jobs={"wrong": {"kind": "kf_sync", "connection": "dingtalk"}})
    with pytest.raises(ConfigFileError, match="kf_sync job needs a wecom connection"):
        assert hub.config  # loaded on first use


async def test_sync__two_syncs_of_one_account_at_once_store_each_message_once(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = kf_hub(messaging_hub, kf_sync_limit=2)
    sent = [kf(sandboxes).customer_says(ACCOUNT, "wmKate", text=f"#{n}")["msgid"]
            for n in range(9)]
    first, second = await asyncio.gather(
        sync_account(hub, "wecom", ACCOUNT, actor="a", follow_up=False),
        sync_account(hub, "wecom", ACCOUNT, actor="b", follow_up=False))
    assert first.races + second.races >= 1  # both read the first page; one stored it
    assert first.stored + second.stored == 9 and first.duplicates + second.duplicates == 0
    assert [m.msgid for m in by_id(hub, KfMessage)] == sent
    [ticket] = by_id(hub, Ticket)
    assert re.findall(r"#([0-9a-f]+)\]", ticket.description) == sent
