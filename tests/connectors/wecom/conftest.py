"""The WeCom sandbox behind a FaultInjector on a loopback port, and connectors aimed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from connectors.sdk.auth import MemoryTokenCache, TokenCache
from connectors.sdk.crypto import CallbackCryptoError, MemoryNonceStore
from connectors.sdk.http import CallRecord
from connectors.sdk.messaging import InboundEvent
from connectors.sdk.ratelimit import MemoryBudgetStore
from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector
from connectors.wecom.connector import WeComConnector
from connectors.wecom.sandbox import CallbackBuilder, SandboxLimits, WeComSandbox, create_app

CORP_ID = "ww1234567890abcdef"
AGENT_ID = 1000002
SECRET = "wecom-test-app-secret-8f3a2c71"
ROBOT_KEY = "robot-key-5d2f0c1e-ops"
CALLBACK_TOKEN = "HubToken2024"
AES_KEY = "MQ84cWtMVGeyU6GDDgoP4urdvPXE7Qa11VC1F6e08ts"
FAST = {"per_second": 1000}  # budgets that never make a test wait


@dataclass
class WeComEnv:
    """One sandbox (behind a FaultInjector) and the connectors a test builds on it."""

    app: Any
    faults: FaultInjector
    url: str
    budgets: MemoryBudgetStore = field(default_factory=MemoryBudgetStore)
    tokens: MemoryTokenCache = field(default_factory=MemoryTokenCache)
    calls: list[CallRecord] = field(default_factory=list)

    @property
    def sandbox(self) -> WeComSandbox:
        sandbox: WeComSandbox = self.app.state.sandbox
        return sandbox

    @property
    def callbacks(self) -> CallbackBuilder:
        builder: CallbackBuilder = self.app.state.callbacks
        return builder

    def config(self, **overrides: Any) -> dict[str, Any]:
        return {
            "base_url": self.url, "corp_id": CORP_ID, "corp_secret": SECRET,
            "agent_id": AGENT_ID, "robots": {"ops": {"key": ROBOT_KEY, "rate_limit": FAST}},
            "callback_token": CALLBACK_TOKEN, "callback_aes_key": AES_KEY,
            "member_rate_limit": FAST, "token_rate_limit": FAST, **overrides,
        }

    def connector(self, *, token_cache: TokenCache | None = None,
                  **overrides: Any) -> WeComConnector:
        return WeComConnector.from_dict(
            self.config(**overrides), connection="wecom", on_call=self.calls.append,
            budget_store=self.budgets, token_cache=token_cache or self.tokens)

    def log(self, api: str | None = None) -> list[dict[str, Any]]:
        """The sandbox's own request log (what WeCom saw), optionally one API's."""
        return [r for r in list(self.sandbox.requests) if api is None or r["api"] == api]

    def errcodes(self, api: str) -> list[int]:
        return [r["errcode"] for r in self.log(api)]

    def secrets(self) -> set[str]:
        """Everything that must never be shown: config secrets and every issued token."""
        return {SECRET, ROBOT_KEY, CALLBACK_TOKEN, AES_KEY, *self.sandbox.issued_tokens()}


EnvFactory = Callable[..., WeComEnv]


@pytest.fixture
def make_env() -> Iterator[EnvFactory]:
    """`make_env(limits=..., token_lifetime=..., ...)`: a fresh sandbox served for the test."""
    with ExitStack() as stack:

        def make(*, limits: SandboxLimits | None = None, **options: Any) -> WeComEnv:
            app = create_app(
                corp_id=CORP_ID, corp_secret=SECRET, agent_id=AGENT_ID,
                robots={"ops": ROBOT_KEY}, callback_token=CALLBACK_TOKEN,
                callback_aes_key=AES_KEY, limits=limits, **options)
            faults = FaultInjector(app)
            url = stack.enter_context(serve(faults))
            return WeComEnv(app=app, faults=faults, url=url)

        yield make


@pytest.fixture
def wecom(make_env: EnvFactory) -> WeComEnv:
    return make_env()


@dataclass
class Receiver:
    """A callback endpoint like the hub's, served on loopback: what it accepted and refused."""

    url: str
    events: list[InboundEvent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    nonces: MemoryNonceStore = field(default_factory=MemoryNonceStore)


def receiver_app(connector: WeComConnector, receiver: Receiver) -> FastAPI:
    app = FastAPI()

    @app.api_route("/webhooks/wecom", methods=["GET", "POST"])
    async def hook(request: Request) -> Response:
        try:
            event, reply = await connector.open_webhook(
                method=request.method, query=dict(request.query_params),
                body=await request.body(), nonces=receiver.nonces)
        except CallbackCryptoError as exc:
            receiver.refused.append(type(exc).__name__)
            return Response(str(exc), 403, media_type="text/plain")
        if event is not None:
            receiver.events.append(event)
        return Response(reply.body, reply.status_code, media_type=reply.media_type)

    return app


@pytest.fixture
def receiver(wecom: WeComEnv) -> Iterator[Receiver]:
    """The connector of `wecom` opening callbacks at ``<url>/webhooks/wecom``."""
    connector = wecom.connector()
    holder = Receiver(url="")
    with serve(receiver_app(connector, holder)) as url:
        holder.url = f"{url}/webhooks/wecom"
        yield holder
