"""The work after a callback's answer: enrichment as long as the source allows, a few tickets
at a time per process, so a burst's follow-ups do not crowd out the answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.crm.sandbox import create_app as create_crm
from connectors.dingtalk.sandbox import BotMessenger
from connectors.sdk.sandbox import serve
from hub.runtime import Hub
from hub.store.models import Ticket
from hub.tickets.inbound import WebhookResult, receive_webhook

ROOT = Path(__file__).resolve().parents[3]
APP_KEY, APP_SECRET, CRM_KEY = "dingfollowups01", "dt-follow-up-secret-1a", "crm-follow-key"
SLOW_SECONDS = 0.3


class SlowInFlight:
    """ASGI middleware: each request answered `SLOW_SECONDS` late; counts how many at once."""

    def __init__(self, app: Any) -> None:
        self.app, self.now, self.peak = app, 0, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(SLOW_SECONDS)
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


@pytest.fixture
def slow_crm() -> Iterator[tuple[str, SlowInFlight, Any]]:
    app = create_crm(api_key=CRM_KEY, customers=40)
    counted = SlowInFlight(app)
    with serve(counted) as url:
        yield url, counted, app.state.sandbox


def make(make_hub: Any, sqlite_url: str, tmp_path: Path, crm_url: str, **job: Any) -> Hub:
    config = tmp_path / "hub.yaml"
    config.write_text(json.dumps({
        "version": 1,
        "connections": {
            "crm": {"type": "crm", "config": {"base_url": crm_url, "api_key": CRM_KEY}},
            "dingtalk": {"type": "dingtalk", "config": {
                "base_url": "http://127.0.0.1:9", "app_key": APP_KEY, "app_secret": APP_SECRET,
                "agent_id": 1}}},
        "jobs": {"ticket_enrichment": {"kind": "enrich", "connection": "crm",
                                       "mapping": "crm_customer", **job}},
        "webhooks": {"dingtalk": {"mapping": "dingtalk_inbound_ticket",
                                  "events": ["bot_message"]}}}), encoding="utf-8")
    hub: Hub = make_hub(sqlite_url, config=config, mappings_dir=ROOT / "mappings")
    return hub


async def deliver(hub: Hub, mobiles: list[str]) -> list[WebhookResult]:
    bot = BotMessenger(app_secret=APP_SECRET, robot_code=APP_KEY)
    results = []
    for n, mobile in enumerate(mobiles):
        message = bot.message(sender=f"member{n}", text=f"退款没到，手机 {mobile}")
        headers = {name.lower(): value for name, value in bot.headers().items()}
        results.append(await receive_webhook(
            hub, "dingtalk", method="POST", query={}, headers=headers,
            body=json.dumps(message, ensure_ascii=False).encode()))
    return results


def statuses(hub: Hub) -> list[str]:
    with hub.sessions() as session:
        return list(session.scalars(sa.select(Ticket.enrichment_status).order_by(Ticket.id)))


async def test_follow_ups__a_burst_is_enriched_four_tickets_at_a_time(
    make_hub: Any, sqlite_url: str, tmp_path: Path, slow_crm: tuple[str, SlowInFlight, Any]
) -> None:
    url, counted, crm = slow_crm
    # An inline wait shorter than one slow CRM answer: nobody waits for a callback's ticket.
    hub = make(make_hub, sqlite_url, tmp_path, url, inline_wait=0.1)
    try:
        mobiles = [c["contact"]["mobile"] for c in crm.customers[:12]]
        results = await deliver(hub, mobiles)
        assert statuses(hub) == ["pending"] * 12  # answered before any of it
        await asyncio.gather(*(r.after() for r in results if r.after is not None))
        assert statuses(hub) == ["enriched"] * 12
        assert 1 <= counted.peak <= 4  # 12 follow-ups, never more than 4 asking at once
    finally:
        hub.close()


async def test_follow_ups__inline_wait_zero_leaves_them_to_the_queue(
    make_hub: Any, sqlite_url: str, tmp_path: Path, slow_crm: tuple[str, SlowInFlight, Any]
) -> None:
    url, counted, crm = slow_crm
    hub = make(make_hub, sqlite_url, tmp_path, url, inline_wait=0)
    try:
        results = await deliver(hub, [crm.customers[0]["contact"]["mobile"]])
        await asyncio.gather(*(r.after() for r in results if r.after is not None))
        assert statuses(hub) == ["pending"] and counted.peak == 0
    finally:
        hub.close()
