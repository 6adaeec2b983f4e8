"""The DingTalk sandbox on a loopback port behind a FaultInjector, and connectors for it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from connectors.dingtalk.connector import DingTalkConnector
from connectors.dingtalk.sandbox import DingTalkSandbox, EventPusher, create_app
from connectors.sdk.http import CallRecord
from connectors.sdk.ratelimit import MemoryBudgetStore
from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector

APP_KEY = "dingtestappkey7f3a"
APP_SECRET = "dt-app-secret-5c2e91b0d4"
AGENT_ID = 2000123
ROBOT_TOKEN = "robot-access-token-8e1d2c"
ROBOT_SECRET = "SECf0e1d2c3b4a5968778695a4b3c2d1e0f"
CALLBACK_TOKEN = "dt-callback-token-41a9"
CALLBACK_AES_KEY = "p9N2z1B7eirZ9VgCMFJk3MjI25okmZR1ao0htYLCLRs"
FAST = {"per_second": 1000, "headroom": 1}


class Clock:
    """A clock shared by the sandbox and the connector; it moves only when told."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Server:
    """One running sandbox: its URL, state, fault injector and event pusher; the test
    credentials as class attributes (test modules cannot import this conftest)."""

    app_key: ClassVar[str] = APP_KEY
    app_secret: ClassVar[str] = APP_SECRET
    agent_id: ClassVar[int] = AGENT_ID
    robot_token: ClassVar[str] = ROBOT_TOKEN
    robot_secret: ClassVar[str] = ROBOT_SECRET
    callback_token: ClassVar[str] = CALLBACK_TOKEN
    callback_aes_key: ClassVar[str] = CALLBACK_AES_KEY

    url: str
    app: Any
    faults: FaultInjector
    calls: list[CallRecord] = field(default_factory=list)

    @property
    def state(self) -> DingTalkSandbox:
        sandbox: DingTalkSandbox = self.app.state.sandbox
        return sandbox

    @property
    def pusher(self) -> EventPusher:
        pusher: EventPusher = self.app.state.pusher
        return pusher

    def config(self, **overrides: Any) -> dict[str, Any]:
        return {
            "base_url": self.url, "app_key": APP_KEY, "app_secret": APP_SECRET,
            "agent_id": AGENT_ID, "rate_limit": FAST, "token_rate_limit": FAST,
            "robots": {"ops": {"access_token": ROBOT_TOKEN, "secret": ROBOT_SECRET,
                               "rate_limit": FAST}},
            "callback_token": CALLBACK_TOKEN, "callback_aes_key": CALLBACK_AES_KEY,
            "max_retry_after": 1.0,
        } | overrides

    def connector(self, *, clock: Callable[[], float] = time.time,
                  **overrides: Any) -> DingTalkConnector:
        return DingTalkConnector.from_dict(
            self.config(**overrides), connection="dt", on_call=self.calls.append,
            clock=clock, budget_store=MemoryBudgetStore())

    def paths(self, errcode: int | None = None) -> list[str]:
        """Paths the sandbox answered, optionally only those with `errcode`."""
        return [r["path"] for r in self.state.requests
                if errcode is None or r["errcode"] == errcode]

    def secrets(self) -> set[str]:
        return {APP_SECRET, ROBOT_TOKEN, ROBOT_SECRET, CALLBACK_TOKEN, CALLBACK_AES_KEY,
                *self.state.issued}


Start = Callable[..., Server]


@pytest.fixture
def start_sandbox() -> Iterator[Start]:
    """Serve a sandbox built with the given `create_app` options; stopped after the test."""
    with ExitStack() as stack:
        def start(**options: Any) -> Server:
            options = {"app_key": APP_KEY, "app_secret": APP_SECRET, "agent_id": AGENT_ID,
                       "robots": {ROBOT_TOKEN: ROBOT_SECRET},
                       "callback": {"token": CALLBACK_TOKEN, "aes_key": CALLBACK_AES_KEY,
                                    "owner_key": APP_KEY}} | options
            app = create_app(**options)
            faults = FaultInjector(app)
            url = stack.enter_context(serve(faults))
            return Server(url=url, app=app, faults=faults)

        yield start


@pytest.fixture
def sandbox(start_sandbox: Start) -> Server:
    return start_sandbox()
