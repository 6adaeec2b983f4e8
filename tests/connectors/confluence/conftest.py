"""The Confluence sandbox behind a FaultInjector, on a loopback port per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from connectors.confluence.connector import ConfluenceConnector
from connectors.confluence.sandbox import ConfluenceSandbox, create_app
from connectors.sdk.http import CallRecord
from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector

EMAIL = "kb-bot@example.com"
TOKEN = "confluence-test-token-3e9a71c4"


@dataclass
class Site:
    url: str
    app: Any
    faults: FaultInjector

    @property
    def sandbox(self) -> ConfluenceSandbox:
        sandbox: ConfluenceSandbox = self.app.state.sandbox
        return sandbox

    def connector(self, *, calls: list[CallRecord] | None = None,
                  **config: Any) -> ConfluenceConnector:
        settings = {"base_url": self.url, "email": EMAIL, "api_token": TOKEN, "space_key": "KB",
                    "max_retry_after": 0.2, **config}
        return ConfluenceConnector.from_dict(
            settings, connection="kb", on_call=None if calls is None else calls.append)

    def api_requests(self, method: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.sandbox.requests if method in (None, r["method"])]


@pytest.fixture
def site() -> Iterator[Site]:
    app = create_app(email=EMAIL, api_token=TOKEN, time_zone="Asia/Shanghai")
    faults = FaultInjector(app)
    with serve(faults) as url:
        yield Site(url=url, app=app, faults=faults)
