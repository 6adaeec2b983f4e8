"""The notify send queue against the DingTalk and WeCom sandboxes with injected faults:
nothing lost, a copy only where an answer was lost after delivery (counted against what the
sandbox saw), throttles waited out, refusals as dead letters with the vendor's reason,
replayed once fixed. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from typing import Any

import pytest

from hub.notify.dispatch import DispatchOptions
from hub.notify.drain import dispatch_queue
from hub.notify.views import list_deliveries, replay_deliveries
from hub.runtime import Hub
from hub.store.models import AuditRecord, NotifyDelivery, NotifyFiring, Run
from hub.tickets import TicketCreate, create_ticket

from .conftest import DT_ROBOT_TOKEN, MessagingHub, Sandboxes, rows

BURST = 30
FAST_RETRY = {"notify_tick": {"kind": "notify", "retry": {
    "attempts": 60, "backoff_initial": 0.02, "backoff_max": 0.2}}}
NOTICE = "/topapi/message/corpconversation/asyncsend_v2"
MARK = re.compile(r"T(\d+):")


def rule(*targets: dict[str, Any], delivery: str = "at_most_once") -> dict[str, Any]:
    return {"when": "status == 'open'", "notify": list(targets), "delivery": delivery,
            "message": {"kind": "text", "title": "新工单", "text": "T{{ id }}: {{ subject }}"}}


async def burst(hub: Hub, count: int = BURST) -> list[int]:
    """`count` tickets created ten at a time (each fires and is sent inline)."""
    ids: list[int] = []
    for start in range(0, count, 10):
        created = await asyncio.gather(*(create_ticket(
            hub, TicketCreate(subject=f"工单 {n}", channel="api"), actor="test")
            for n in range(start, min(count, start + 10))))
        ids += [t.id for t in created]
    return ids


async def settle_queue(hub: Hub) -> None:
    """Dispatch until no delivery is pending or accepted (follow-ups fail under faults too)."""
    for _ in range(60):
        await dispatch_queue(hub, options=DispatchOptions(mode="drain", poll_seconds=0.02,
                                                          follow_all=True))
        left = rows(hub, NotifyDelivery, NotifyDelivery.status.in_(["pending", "accepted"]))
        if not left:
            return
    raise AssertionError(f"deliveries still open: {[(r.id, r.status) for r in left]}")


def tickets_in(texts: list[str]) -> Counter[int]:
    return Counter(int(m) for text in texts for m in MARK.findall(text))


def injected(faults: Any, path: str, *outcomes: str) -> int:
    return sum(r.path.endswith(path) and r.outcome in outcomes for r in faults.requests())


def call_rows(hub: Hub, target: str) -> list[AuditRecord]:
    found: list[AuditRecord] = rows(hub, AuditRecord, AuditRecord.action == "http.call",
                                    AuditRecord.target == target)
    return found


async def test_queue__dingtalk_notices_at_30_percent_faults_lose_and_double_nothing(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(rules={"new": rule({"connection": "dingtalk", "user": "user001"})},
                        enrich=False, jobs=FAST_RETRY)
    sandboxes.dingtalk_faults.chaos(error=0.1, drop=0.1, lose=0.1, status=502, seed=18)
    ids = await burst(hub)
    await settle_queue(hub)
    sandboxes.dingtalk_faults.reset()

    tasks = list(sandboxes.dingtalk.tasks.values())
    delivered = tickets_in([json.dumps(t.msg, ensure_ascii=False) for t in tasks
                            if "user001" in t.unread])
    assert delivered == Counter(dict.fromkeys(ids, 1))  # none lost, none twice
    # Every notice whose answer was lost after DingTalk took it was sent again, and
    # DingTalk kept the copy back as identical content (143106): the hub counted each.
    copies = sum(f["code"] == 143106 for t in tasks for f in t.forbidden)
    lost = injected(sandboxes.dingtalk_faults, NOTICE, "lost")
    dropped = injected(sandboxes.dingtalk_faults, NOTICE, "dropped")
    assert lost > 0 and dropped > 0 and copies == lost
    queued = rows(hub, NotifyDelivery)
    assert sum(r.maybe_delivered for r in queued) == lost + dropped
    assert {r.status for r in queued} == {"sent"}
    assert {f.status for f in rows(hub, NotifyFiring)} == {"sent"}
    # Every attempt is audited under its own operation, secrets aside.
    sent_to_vendor = sum(r.path.endswith(NOTICE) for r in sandboxes.dingtalk_faults.requests())
    assert len(call_rows(hub, "dingtalk:work_notice.send")) == sent_to_vendor
    runs = rows(hub, Run, Run.job == "notify")
    assert sum(r.retries for r in runs) > 0 and sum(r.rejected for r in runs) == 0


async def test_queue__wecom_app_and_robot_at_30_percent_faults(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    # App messages carry WeCom's duplicate check: a resend is dropped by WeCom. The robot
    # cannot dedupe; the rule asks for at-least-once, so a lost answer is a counted copy.
    targets = ({"connection": "wecom", "user": "zhangsan"}, {"connection": "wecom",
                                                             "robot": "ops"})
    hub = messaging_hub(rules={"new": rule(*targets, delivery="at_least_once")},
                        enrich=False, jobs=FAST_RETRY)
    sandboxes.wecom_faults.chaos(error=0.1, drop=0.1, lose=0.1, status=500, seed=7)
    ids = await burst(hub)
    await settle_queue(hub)
    sandboxes.wecom_faults.reset()

    inbox = tickets_in([m.content["content"] for m in sandboxes.wecom.inbox("zhangsan")])
    assert inbox == Counter(dict.fromkeys(ids, 1))
    lost_app = injected(sandboxes.wecom_faults, "/message/send", "lost")
    assert sandboxes.wecom.counters["duplicates_dropped"] == lost_app
    posts = tickets_in([m["content"] for m in sandboxes.wecom.robot_messages["ops"]])
    lost_robot = injected(sandboxes.wecom_faults, "/webhook/send", "lost")
    assert set(posts) == set(ids) and lost_robot > 0
    assert sum(posts.values()) - len(ids) == lost_robot  # the copies: exactly the lost ones
    assert {f.status for f in rows(hub, NotifyFiring)} == {"sent"}


async def test_queue__at_most_once_robot_answers_lost_are_unknown_not_resent(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(rules={"new": rule({"connection": "dingtalk", "robot": "ops"})},
                        enrich=False, jobs=FAST_RETRY)
    sandboxes.dingtalk_faults.chaos(lose=0.3, path_prefix="/robot/send", seed=3)
    ids = await burst(hub, 12)
    await settle_queue(hub)
    posted = tickets_in([p["text"]["content"] for p in sandboxes.robot_posts()])
    assert posted == Counter(dict.fromkeys(ids, 1))  # no copy
    lost = injected(sandboxes.dingtalk_faults, "/robot/send", "lost")
    unknown = list_deliveries(hub, statuses=["unknown"])
    assert lost > 0 and len(unknown) == lost
    assert all(v.error and "maybe delivered" in v.error for v in unknown)
    assert {f.status for f in rows(hub, NotifyFiring) if f.ticket_id in
            {v.ticket_id for v in unknown}} == {"unknown"}


@pytest.mark.parametrize("vendor", ["dingtalk", "wecom"])
async def test_queue__a_throttle_longer_than_the_send_functions_retries_loses_nothing(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, vendor: str
) -> None:
    # 30 throttle answers in a row for 3 messages: far more than the 4 tries of one call
    # (the old horizon), waited out by the queue (DingTalk 90018, WeCom 45009).
    target = {"connection": vendor, "user": "user001" if vendor == "dingtalk" else "lisi"}
    # WeCom asks for 60 s after 45009; the test's connection asks for 1 s.
    hub = messaging_hub(rules={"new": rule(target)}, enrich=False, jobs=FAST_RETRY,
                        wecom={"frequency_wait": 1.0})
    if vendor == "dingtalk":
        sandboxes.dingtalk_faults.fail_next(30, status=200, path_prefix=NOTICE, body={
            "errcode": 90018, "errmsg": "当前应用调用该接口超过每秒调用次数限制"})
    else:
        sandboxes.wecom_faults.fail_next(30, status=200, path_prefix="/cgi-bin/message/send",
                                         body={"errcode": 45009, "errmsg": "api freq out"})
    ids = await burst(hub, 3)
    await settle_queue(hub)
    if vendor == "dingtalk":
        texts = [json.dumps(m, ensure_ascii=False)
                 for m in sandboxes.dingtalk.messages_to("user001")]
    else:
        texts = [m.content["content"] for m in sandboxes.wecom.inbox("lisi")]
    assert tickets_in(texts) == Counter(dict.fromkeys(ids, 1))
    logs = [e for r in rows(hub, NotifyDelivery) for e in r.attempts_log or []]
    assert "throttled" in {e["outcome"] for e in logs}


async def test_queue__a_refusal_is_a_dead_letter_with_the_reason_replayed_once_fixed(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    good = {"ops": {"access_token": DT_ROBOT_TOKEN, "secret": "SEChubrobotsecret0d1e2f3a4b5c6d7e8f",
                    "rate_limit": {"per_second": 1000, "headroom": 1}}}
    bad = {"ops": {**good["ops"], "secret": "SECthisisnottherobotssecret0000000000"}}
    rules = {"new": rule({"connection": "dingtalk", "robot": "ops"},
                         {"connection": "wecom", "user": "nobody"})}
    hub = messaging_hub(rules=rules, enrich=False, jobs=FAST_RETRY, dingtalk={"robots": bad})
    [ticket] = await burst(hub, 1)
    dead = list_deliveries(hub, statuses=["dead"])
    reasons = {v.connection: v.error or "" for v in dead}
    assert "refused the signature" in reasons["dingtalk"]
    assert "every recipient is invalid" in reasons["wecom"] and "81013" in reasons["wecom"]
    assert sandboxes.robot_posts() == []
    [firing] = rows(hub, NotifyFiring)
    assert firing.status == "failed"
    assert len(rows(hub, AuditRecord, AuditRecord.action == "notify.dead_letter")) == 2

    fixed = messaging_hub(rules=rules, enrich=False, jobs=FAST_RETRY,
                          dingtalk={"robots": good})
    robot = next(v.id for v in dead if v.connection == "dingtalk")
    assert replay_deliveries(fixed, [robot], actor="test") == [robot]
    await settle_queue(fixed)
    assert tickets_in([p["text"]["content"] for p in sandboxes.robot_posts()]) == {ticket: 1}
    [firing] = rows(fixed, NotifyFiring)
    assert firing.status == "partial"  # the robot got it; WeCom still knows no "nobody"
    assert [v.connection for v in list_deliveries(fixed, statuses=["dead"])] == ["wecom"]


async def test_queue__an_accepted_notice_stays_accepted_when_its_follow_up_fails(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(rules={"new": rule({"connection": "dingtalk", "user": "user002"},
                                           {"connection": "dingtalk", "user": "ghost"})},
                        enrich=False, jobs=FAST_RETRY)
    progress = "/topapi/message/corpconversation/getsendprogress"
    sandboxes.dingtalk_faults.fail_next(40, status=500, path_prefix=progress)
    [ticket] = await burst(hub, 1)
    [delivery] = rows(hub, NotifyDelivery)
    assert delivery.status == "accepted"  # DingTalk took it; its result is not known yet
    assert "follow-up failed" in (delivery.result or {}).get("detail", "")
    [firing] = rows(hub, NotifyFiring)
    assert firing.status == "pending"  # not "failed": the record agrees with DingTalk
    sandboxes.dingtalk_faults.reset()
    await settle_queue(hub)  # the follow-up is retried on its own, the notice is not resent
    assert len(sandboxes.dingtalk.tasks) == 1
    [delivery] = rows(hub, NotifyDelivery)
    assert (delivery.status, delivery.result["failed"]) == ("partial", ["ghost"])
    assert rows(hub, NotifyFiring)[0].status == "partial"
    assert ticket in tickets_in([json.dumps(m, ensure_ascii=False)
                                 for m in sandboxes.dingtalk.messages_to("user002")])


async def test_queue__a_failed_token_fetch_is_audited_as_such_and_the_notice_sent_later(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    hub = messaging_hub(rules={"new": rule({"connection": "dingtalk", "user": "user003"})},
                        enrich=False, jobs=FAST_RETRY)
    sandboxes.dingtalk_faults.fail_next(6, status=502, path_prefix="/gettoken")
    [ticket] = await burst(hub, 1)
    await settle_queue(hub)
    texts = [json.dumps(m, ensure_ascii=False) for m in sandboxes.dingtalk.messages_to("user003")]
    assert tickets_in(texts) == {ticket: 1}
    token_calls = call_rows(hub, "dingtalk:token")
    assert len(token_calls) >= 4 and {r.outcome for r in token_calls} >= {"transient"}
    notice_calls = call_rows(hub, "dingtalk:work_notice.send")
    assert [r.outcome for r in notice_calls] == ["ok"]  # the notice call is not blamed
    log = rows(hub, NotifyDelivery)[0].attempts_log or []
    assert log[0]["outcome"] == "never_sent"


async def test_queue__a_blocked_robot_holds_its_new_messages_until_the_block_ends(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    # DingTalk blocks a robot that went over its limit (here 2 a second, blocked 5 s; the
    # docs: 20 a minute, 10 minutes): messages fired meanwhile wait in the queue instead of
    # meeting the block one by one, then all go out once.
    dingtalk = sandboxes.dingtalk
    dingtalk.robot_limit, dingtalk.robot_window, dingtalk.robot_penalty = 2, 1.0, 5.0
    hub = messaging_hub(rules={"new": rule({"connection": "dingtalk", "robot": "ops"})},
                        enrich=False, jobs=FAST_RETRY,
                        dingtalk={"robot_backoff": 5.0, "max_attempts": 1})
    first = await burst(hub, 3)
    robot = dingtalk.robots[DT_ROBOT_TOKEN]
    assert len(robot.posted) == 2 and robot.refusals == 1
    later = await burst(hub, 4)  # during the block
    assert robot.refusals == 1 and len(robot.posted) == 2  # not even tried
    assert {f.status for f in rows(hub, NotifyFiring) if f.ticket_id in later} == {"queued"}
    await settle_queue(hub)
    posted = tickets_in([p["text"]["content"] for p in robot.posted])
    assert posted == Counter(dict.fromkeys(first + later, 1))


async def test_queue__notices_stay_accepted_through_failing_follow_ups_and_are_never_resent(
    messaging_hub: MessagingHub, sandboxes: Sandboxes
) -> None:
    # 30 % of the follow-up calls (getsendprogress, getsendresult) fail — 5xx, dropped,
    # answer lost — one try per call: a notice DingTalk took is never recorded failed nor
    # sent again; its follow-ups are retried on their own until the result is known, and
    # the recipient DingTalk could not reach is listed.
    hub = messaging_hub(rules={"new": rule({"connection": "dingtalk", "user": "user002"},
                                           {"connection": "dingtalk", "user": "ghost"})},
                        enrich=False, jobs=FAST_RETRY, dingtalk={"max_attempts": 1})
    sandboxes.dingtalk_faults.chaos(error=0.1, drop=0.1, lose=0.1, status=502, seed=33,
                                    path_prefix="/topapi/message/corpconversation/getsend")
    ids = await burst(hub, 20)
    waiting = rows(hub, NotifyDelivery, NotifyDelivery.status == "accepted")
    await settle_queue(hub)
    faults = sandboxes.dingtalk_faults.requests()
    failed_follow_ups = sum("/getsend" in r.path and r.outcome != "passed" for r in faults)
    sandboxes.dingtalk_faults.reset()

    assert waiting and failed_follow_ups > 0  # the faults met follow-ups, not just sends
    assert len(sandboxes.dingtalk.tasks) == len(ids)  # every notice sent exactly once
    texts = [json.dumps(m, ensure_ascii=False) for m in sandboxes.dingtalk.messages_to("user002")]
    assert tickets_in(texts) == Counter(dict.fromkeys(ids, 1))
    queued = rows(hub, NotifyDelivery)
    assert {(r.status, r.attempts) for r in queued} == {("partial", 1)}  # sent once each
    assert all(r.result["failed"] == ["ghost"] for r in queued)  # the unreached listed
    assert sum(r.follow_ups for r in queued) > len(ids)  # some follow-ups were retried
    logged = [e for r in queued for e in r.attempts_log or []]
    assert "follow_up_failed" in {e["outcome"] for e in logged}
    sends = [e["outcome"] for e in logged if e["follow_up"] is None]
    assert len(sends) == len(ids) and set(sends) <= {"accepted", "delivered"}
    assert {f.status for f in rows(hub, NotifyFiring)} == {"partial"}
    follow_ups = rows(hub, AuditRecord, AuditRecord.action == "notify.follow_up")
    assert {r.detail["queue_status"] for r in follow_ups} >= {"accepted", "partial"}
