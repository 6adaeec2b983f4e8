"""DingTalk bot messages as tickets, over loopback HTTP: the DingTalk sandbox plays DingTalk
(HTTP mode: signed plaintext; or the same message inside an encrypted push) and posts to the
hub's API served by uvicorn — in a thread, or `hub serve` in a process of its own.

Forgeries are signed here, from the protocol notes' recipe, not with the hub's or the
sandbox's code."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from connectors.dingtalk.sandbox import BotMessenger, EventPusher
from connectors.dingtalk.sandbox import create_app as create_dingtalk
from connectors.sdk.sandbox import serve
from hub.api import create_app
from hub.runtime import Hub
from hub.store.models import AuditRecord, Ticket, WebhookEvent

ROOT = Path(__file__).resolve().parents[3]
APP_KEY = "dingbotappkey0042"
APP_SECRET = "dt-bot-app-secret-6b2f7a91"
CALLBACK_TOKEN = "dtBotCallbackToken5"
AES_KEY = "r7M3z1B7eirZ9VgCMFJk3MjI25okmZR1ao0htYLCLRs"
WEBHOOKS = {"dingtalk": {"mapping": "dingtalk_inbound_ticket",
                         "events": ["bot_message", "device_alarm"]}}


def doc_sign(secret: str, timestamp: str) -> str:
    """The notes' recipe: Base64(HMAC-SHA256(secret, timestamp + "\\n" + secret))."""
    mac = hmac.new(secret.encode(), (timestamp + "\n" + secret).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


@dataclass
class World:
    """The DingTalk sandbox, a hub on the test's store, and its config file."""

    dingtalk_url: str
    dingtalk_app: Any
    hub: Hub
    config: Path

    @property
    def bot(self) -> BotMessenger:
        bot: BotMessenger = self.dingtalk_app.state.bot
        return bot

    @property
    def pusher(self) -> EventPusher:
        pusher: EventPusher = self.dingtalk_app.state.pusher
        return pusher

    def rows(self, model: Any, *where: Any) -> list[Any]:
        with self.hub.sessions() as session:
            order = model.seq if model is AuditRecord else model.id
            found = list(session.scalars(sa.select(model).where(*where).order_by(order)))
            session.expunge_all()
            return found


@pytest.fixture
def world(database_url: str, crm_sandbox: Any, make_hub: Any, tmp_path: Path
          ) -> Iterator[World]:
    app = create_dingtalk(app_key=APP_KEY, app_secret=APP_SECRET, callback={
        "token": CALLBACK_TOKEN, "aes_key": AES_KEY, "owner_key": APP_KEY}, app_qps=None)
    with serve(app) as url:
        config = tmp_path / "hub.yaml"
        config.write_text(json.dumps({
            "version": 1,
            "connections": {
                "crm": {"type": "crm", "config": {"base_url": crm_sandbox.url,
                                                  "api_key": crm_sandbox.api_key}},
                "dingtalk": {"type": "dingtalk", "config": {
                    "base_url": url, "app_key": APP_KEY, "app_secret": APP_SECRET,
                    "agent_id": 1000001, "callback_token": CALLBACK_TOKEN,
                    "callback_aes_key": AES_KEY}}},
            "jobs": {"ticket_enrichment": {"kind": "enrich", "connection": "crm",
                                           "mapping": "crm_customer"}},
            "webhooks": WEBHOOKS}, ensure_ascii=False), encoding="utf-8")
        hub: Hub = make_hub(database_url, config=config, mappings_dir=ROOT / "mappings")
        try:
            yield World(url, app, hub, config)
        finally:
            hub.close()


@pytest.fixture
def hub_url(world: World) -> Iterator[str]:
    """The hub's API (the app `hub serve` runs) on a loopback port."""
    with serve(create_app(hub=world.hub), lifespan="on") as url:
        yield f"{url}/webhooks/dingtalk"


async def eventually(check: Callable[[], bool], *, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "the work after the answer did not finish"
        await asyncio.sleep(0.05)


async def test_bot_message__opens_a_ticket_enriched_after_the_answer(
    world: World, hub_url: str, crm_sandbox: Any
) -> None:
    customer = crm_sandbox.state.customers[3]
    mobile = customer["contact"]["mobile"]
    message = world.bot.message(sender="user001", text=f"我的退款还没到账\n手机 {mobile}",
                                nick="王芳")
    response = await world.bot.send(hub_url, message)
    assert (response.status_code, response.content) == (200, b"")
    [ticket] = world.rows(Ticket)
    assert (ticket.subject, ticket.channel, ticket.contact_name, ticket.contact_mobile,
            ticket.category, ticket.external_ref) == (
        "我的退款还没到账", "dingtalk", "王芳", mobile, "refund", "dingtalk:user001")
    [event] = world.rows(WebhookEvent)
    assert (event.event_id, event.event_type, event.status, event.ticket_id) == (
        message["msgId"], "bot_message", "ticket", ticket.id)
    await eventually(lambda: world.rows(Ticket)[0].enrichment_status != "pending")
    [ticket] = world.rows(Ticket)
    assert ticket.enrichment_status == "enriched"  # the CRM customer of the typed mobile


async def test_bot_message__a_retried_msg_id_makes_one_ticket(
    world: World, hub_url: str
) -> None:
    message = world.bot.message(sender="user002", text="发票开错了")
    async with httpx.AsyncClient(timeout=30) as client:
        answers = [await world.bot.send(hub_url, message, client=client) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    [ticket] = world.rows(Ticket)
    assert "\n\n[" not in ticket.description  # nothing appended by the retries
    [event] = world.rows(WebhookEvent)
    assert (event.deliveries, event.ticket_id) == (3, ticket.id)
    assert len(world.rows(AuditRecord, AuditRecord.action == "webhook.duplicate")) == 2


async def test_bot_message__the_senders_next_message_joins_the_open_ticket(
    world: World, hub_url: str
) -> None:
    for sender, text in (("user003", "洗碗机不出水"), ("user003", "紧急！厨房淹了"),
                         ("user004", "我的发票呢")):
        response = await world.bot.send(hub_url, world.bot.message(sender=sender, text=text))
        assert response.status_code == 200
    first, other = world.rows(Ticket)
    assert first.external_ref == "dingtalk:user003" and other.external_ref == "dingtalk:user004"
    assert first.description.startswith("洗碗机不出水\n\n[")
    assert first.description.endswith("user003] 紧急！厨房淹了")
    assert first.priority == "urgent"  # raised by the second message
    assert [e.status for e in world.rows(WebhookEvent)] == ["ticket", "ticket", "ticket"]
    assert [e.ticket_id for e in world.rows(WebhookEvent)] == [first.id, first.id, other.id]


async def test_bot_message__in_a_group_is_its_senders_ticket(
    world: World, hub_url: str
) -> None:
    message = world.bot.message(sender="user005", text="@客服 快递三天没动了", group="售后服务群")
    assert (await world.bot.send(hub_url, message)).status_code == 200
    [ticket] = world.rows(Ticket)
    assert ticket.external_ref == "dingtalk:user005"
    assert ticket.description == "@客服 快递三天没动了（群聊：售后服务群）"
    [event] = world.rows(WebhookEvent)
    assert event.payload["conversationType"] == "2"


async def test_bot_message__forged_and_stale_signs_are_refused_and_audited_without_secrets(
    world: World, hub_url: str, audit_text: Callable[[Hub], str]
) -> None:
    now = str(int(time.time() * 1000))
    two_hours_ago = str(int(time.time() * 1000) - 2 * 3600 * 1000)
    cases = {
        "forged": {"timestamp": now, "sign": doc_sign("not-the-app-secret", now)},
        "stale": {"timestamp": two_hours_ago, "sign": doc_sign(APP_SECRET, two_hours_ago)},
    }
    signs = {headers["sign"] for headers in cases.values()}
    for reason, headers in cases.items():
        message = world.bot.message(sender="user006", text="我要退款")
        response = await world.bot.send(hub_url, message, **headers)
        assert response.status_code == 403, reason
        assert not any(s in response.text for s in (*signs, APP_SECRET))
    assert world.rows(Ticket) == [] and world.rows(WebhookEvent) == []
    refused = world.rows(AuditRecord, AuditRecord.action == "webhook.reject")
    assert [r.outcome for r in refused] == ["forged", "stale"]
    assert "sign" in refused[0].detail["error"] and "timestamp" in refused[1].detail["error"]
    text = audit_text(world.hub)
    assert not [s for s in (*signs, APP_SECRET) if s in text]
    # Signed right, the same message is taken.
    assert (await world.bot.send(hub_url, message)).status_code == 200
    assert len(world.rows(Ticket)) == 1


async def test_bot_message__an_encrypted_body_opens_a_ticket(world: World, hub_url: str) -> None:
    message = world.bot.message(sender="user009", text="冰箱结霜")
    response = await world.bot.send(hub_url, message, encrypt=True)
    assert (response.status_code, response.content) == (200, b"")
    [ticket] = world.rows(Ticket)
    assert (ticket.subject, ticket.external_ref) == ("冰箱结霜", "dingtalk:user009")


async def test_bot_message__inside_an_encrypted_push_too_once_for_both_ways(
    world: World, hub_url: str
) -> None:
    message = world.bot.message(sender="user007", text="空调不制冷")
    pushed = await world.pusher.push(hub_url, message)
    assert world.pusher.open_reply(pushed.content) == "success"
    [ticket] = world.rows(Ticket)
    assert (ticket.subject, ticket.external_ref) == ("空调不制冷", "dingtalk:user007")
    posted = await world.bot.send(hub_url, message)  # the same msgId in HTTP mode
    assert posted.status_code == 200
    assert len(world.rows(Ticket)) == 1
    [event] = world.rows(WebhookEvent)
    assert (event.event_type, event.deliveries) == ("bot_message", 2)


@pytest.mark.slow
async def test_bot_message__through_hub_serve(world: World, tmp_path: Path) -> None:
    """`hub serve --port 0 --access-log` in its own process; the sandbox's /_sandbox/bot
    control posts a member's message to it as DingTalk would. A forged one is refused, and
    the server's output shows neither its sign nor the secret."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("HUB_", "DINGTALK_", "WECOM_", "CRM_"))}
    env.update(HUB_DATABASE_URL=str(world.hub.settings.database_url),
               HUB_CONFIG=str(world.config), HUB_MAPPINGS_DIR=str(ROOT / "mappings"),
               PYTHONPATH=str(ROOT))
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 -- the hub's own CLI
            [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())", "serve",
             "--port", "0", "--access-log"], cwd=tmp_path, env=env, stdout=out,
            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"listening on (http://127\.0\.0\.1:\d+)",
                                      log.read_text(errors="replace"))):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=world.dingtalk_url, timeout=30) as sandbox:
            answer = (await sandbox.post("/_sandbox/bot", json={
                "url": f"{found.group(1)}/webhooks/dingtalk", "sender": "user008",
                "nick": "李雷", "text": "热水器显示E4"})).json()
        stamp = str(int(time.time() * 1000))
        forged_sign = doc_sign("guessed-secret", stamp)
        forged = await world.bot.send(f"{found.group(1)}/webhooks/dingtalk",
                                      world.bot.message(sender="x", text="y"),
                                      timestamp=stamp, sign=forged_sign)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert answer["status"] == 200, log.read_text()
    assert forged.status_code == 403
    assert forged_sign not in log.read_text() and APP_SECRET not in log.read_text()
    assert '"path": "/webhooks/dingtalk", "status": 403' in log.read_text()  # it was logged
    [ticket] = world.rows(Ticket)
    assert (ticket.subject, ticket.contact_name) == ("热水器显示E4", "李雷")
    [event] = world.rows(WebhookEvent)
    assert event.event_id == answer["msgId"]
