"""The DingTalk and WeCom sandboxes on loopback ports, and hubs whose hub.yaml points at them.

`messaging_hub(rules=..., webhooks=..., ...)` writes a hub.yaml into the test's folder (the
CRM connection from the shared `crm_sandbox`, a `dingtalk` and a `wecom` connection on the
sandboxes) and returns a migrated hub on the test's store (SQLite or PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.dingtalk.sandbox import DingTalkSandbox, EventPusher
from connectors.dingtalk.sandbox import create_app as create_dingtalk
from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector
from connectors.wecom.sandbox import CallbackBuilder, SandboxLimits, WeComSandbox
from connectors.wecom.sandbox import create_app as create_wecom
from hub.runtime import Hub

ROOT = Path(__file__).resolve().parents[3]

DT_APP_KEY = "dinghubtestkey01"
DT_APP_SECRET = "dt-hub-app-secret-7c1f0e"
DT_AGENT_ID = 3000456
DT_ROBOT_TOKEN = "dt-hub-robot-token-9a8b7c"
DT_ROBOT_SECRET = "SEChubrobotsecret0d1e2f3a4b5c6d7e8f"
DT_CALLBACK_TOKEN = "dtHubCallbackToken31"
DT_AES_KEY = "q8M3z1B7eirZ9VgCMFJk3MjI25okmZR1ao0htYLCLRs"

WC_CORP_ID = "ww0hubtest000corp1"
WC_SECRET = "wecom-hub-app-secret-3e9d7a"
WC_AGENT_ID = 1000009
WC_ROBOT_KEY = "wecom-hub-robot-key-5b4c"
WC_CALLBACK_TOKEN = "HubCallbackToken77"
WC_AES_KEY = "Zx84cWtMVGeyU6GDDgoP4urdvPXE7Qa11VC1F6e08tQ"

FAST = {"per_second": 1000, "headroom": 1}
SECRETS = (DT_APP_SECRET, DT_ROBOT_TOKEN, DT_ROBOT_SECRET, DT_CALLBACK_TOKEN, DT_AES_KEY,
           WC_SECRET, WC_ROBOT_KEY, WC_CALLBACK_TOKEN, WC_AES_KEY)


@dataclass
class Sandboxes:
    """Both messengers' sandboxes (behind fault injectors) and what a test needs of them."""

    dingtalk_url: str
    dingtalk_app: Any
    dingtalk_faults: FaultInjector
    wecom_url: str
    wecom_app: Any
    wecom_faults: FaultInjector
    hubs: list[Hub] = field(default_factory=list)

    @property
    def dingtalk(self) -> DingTalkSandbox:
        sandbox: DingTalkSandbox = self.dingtalk_app.state.sandbox
        return sandbox

    @property
    def pusher(self) -> EventPusher:
        pusher: EventPusher = self.dingtalk_app.state.pusher
        return pusher

    @property
    def wecom(self) -> WeComSandbox:
        sandbox: WeComSandbox = self.wecom_app.state.sandbox
        return sandbox

    @property
    def callbacks(self) -> CallbackBuilder:
        builder: CallbackBuilder = self.wecom_app.state.callbacks
        return builder

    def robot_posts(self) -> list[dict[str, Any]]:
        return list(self.dingtalk.robots[DT_ROBOT_TOKEN].posted)

    def secrets(self) -> set[str]:
        """Every value that must never be shown: config secrets and every issued token."""
        return {*SECRETS, *self.dingtalk.issued, *self.wecom.issued_tokens()}


def connections(sandboxes: Sandboxes, crm: Any, *, dingtalk: dict[str, Any] | None = None,
                wecom: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "crm": {"type": "crm", "config": {"base_url": crm.url, "api_key": crm.api_key}},
        "dingtalk": {"type": "dingtalk", "config": {
            "base_url": sandboxes.dingtalk_url, "app_key": DT_APP_KEY,
            "app_secret": DT_APP_SECRET, "agent_id": DT_AGENT_ID, "rate_limit": FAST,
            "token_rate_limit": FAST, "max_retry_after": 0.5,
            "robots": {"ops": {"access_token": DT_ROBOT_TOKEN, "secret": DT_ROBOT_SECRET,
                               "rate_limit": FAST}},
            "callback_token": DT_CALLBACK_TOKEN, "callback_aes_key": DT_AES_KEY,
            **(dingtalk or {})}},
        "wecom": {"type": "wecom", "config": {
            "base_url": sandboxes.wecom_url, "corp_id": WC_CORP_ID, "corp_secret": WC_SECRET,
            "agent_id": WC_AGENT_ID, "rate_limit": FAST, "token_rate_limit": FAST,
            "member_rate_limit": FAST, "max_retry_after": 0.5,
            "robots": {"ops": {"key": WC_ROBOT_KEY, "rate_limit": FAST}},
            "callback_token": WC_CALLBACK_TOKEN, "callback_aes_key": WC_AES_KEY,
            **(wecom or {})}},
    }


WEBHOOKS = {
    "wecom": {"mapping": "wecom_inbound_ticket", "events": ["text", "event.device_alarm"]},
    "dingtalk": {"mapping": "dingtalk_inbound_ticket",
                 "events": ["customer_message", "device_alarm"]},
}

VIP_RULE = {
    "when": "tier == 'vip' and status == 'open'",
    "notify": [{"connection": "dingtalk", "robot": "ops"}],
    "message": {"kind": "card", "title": "VIP 工单 #{{ id }}",
                "text": "{{ customer.name }}：{{ subject }}"},
}
URGENT_RULE = {
    "when": "priority == 'urgent' or text | has_any(['紧急', '加急'])",
    "notify": [{"connection": "wecom", "user": "zhangsan"}],
    "message": {"kind": "card", "title": "紧急工单 #{{ id }}", "text": "{{ subject }}"},
}


MessagingHub = Callable[..., Hub]


@pytest.fixture
def wecom_limits() -> SandboxLimits:
    """The WeCom sandbox's limits (a test parametrizes this name to change them)."""
    return SandboxLimits(robot=1000, member=1000)


@pytest.fixture
def sandboxes(wecom_limits: SandboxLimits) -> Iterator[Sandboxes]:
    with ExitStack() as stack:
        dingtalk_app = create_dingtalk(
            app_key=DT_APP_KEY, app_secret=DT_APP_SECRET, agent_id=DT_AGENT_ID,
            robots={DT_ROBOT_TOKEN: DT_ROBOT_SECRET},
            callback={"token": DT_CALLBACK_TOKEN, "aes_key": DT_AES_KEY,
                      "owner_key": DT_APP_KEY}, app_qps=None)
        wecom_app = create_wecom(
            corp_id=WC_CORP_ID, corp_secret=WC_SECRET, agent_id=WC_AGENT_ID,
            robots={"ops": WC_ROBOT_KEY}, callback_token=WC_CALLBACK_TOKEN,
            callback_aes_key=WC_AES_KEY, limits=wecom_limits)
        dingtalk_faults, wecom_faults = FaultInjector(dingtalk_app), FaultInjector(wecom_app)
        found = Sandboxes(
            dingtalk_url=stack.enter_context(serve(dingtalk_faults)), dingtalk_app=dingtalk_app,
            dingtalk_faults=dingtalk_faults, wecom_url=stack.enter_context(serve(wecom_faults)),
            wecom_app=wecom_app, wecom_faults=wecom_faults)
        try:
            yield found
        finally:
            for hub in found.hubs:
                hub.close()


@pytest.fixture
def messaging_hub(sandboxes: Sandboxes, crm_sandbox: Any, database_url: str,
                  tmp_path: Path, make_hub: Any) -> MessagingHub:
    """`messaging_hub(rules={...}, webhooks={...}, dingtalk={...}, wecom={...}, jobs={...})`:
    a migrated hub on the test's store; a second call gives a second hub (another
    "process") on it."""

    def make(*, rules: dict[str, Any] | None = None, webhooks: dict[str, Any] | None = None,
             dingtalk: dict[str, Any] | None = None, wecom: dict[str, Any] | None = None,
             public_url: str | None = "https://hub.example.test",
             enrich: bool = True, jobs: dict[str, Any] | None = None) -> Hub:
        document: dict[str, Any] = {
            "version": 1,
            "connections": connections(sandboxes, crm_sandbox, dingtalk=dingtalk, wecom=wecom),
            "jobs": {**({"ticket_enrichment": {"kind": "enrich", "connection": "crm",
                                               "mapping": "crm_customer"}} if enrich else {}),
                     **(jobs or {})},
            "webhooks": WEBHOOKS if webhooks is None else webhooks,
            "rules": rules or {},
        }
        if public_url:
            document["public_url"] = public_url
        path = tmp_path / f"hub-{len(sandboxes.hubs)}.yaml"
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
        hub: Hub = make_hub(database_url, config=path, mappings_dir=ROOT / "mappings")
        sandboxes.hubs.append(hub)
        return hub

    return make


def rows(hub: Hub, model: Any, *where: Any) -> list[Any]:
    """Every row of `model` (matching `where`), detached, in id order."""
    with hub.sessions() as session:
        statement = sa.select(model).where(*where)
        found = list(session.scalars(statement))
        session.expunge_all()
        return found


def leaked(text: str, secrets: set[str]) -> list[str]:
    """The secrets (shown by length only) found in `text`."""
    return [f"<{len(s)} chars>" for s in secrets if s and s in text]
