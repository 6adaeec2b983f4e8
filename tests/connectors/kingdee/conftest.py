"""Fixtures: a fresh Kingdee sandbox behind a FaultInjector, served on loopback per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from connectors.kingdee.connector import KingdeeConnector
from connectors.kingdee.sandbox import SandboxState, create_app
from connectors.sdk.http import CallRecord
from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector

CREDS: dict[str, Any] = {
    "acct_id": "65f1a2b3c4d5e6",
    "username": "webapi",
    "password": "Kd-sandbox-2026!",
    "app_id": "300123_VlFeUUtQVV4GWEYeR1ZUSgdEFFJTBFAG",
    "app_secret": "0123456789abcdef0123456789abcdef",
}


@dataclass
class Kingdee:
    root: str  # the server root (controls live here)
    app: Any
    faults: FaultInjector
    calls: list[CallRecord] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.root}/k3cloud/"

    @property
    def state(self) -> SandboxState:
        return self.app.state.sandbox  # type: ignore[no-any-return]

    def config(self, **overrides: Any) -> dict[str, Any]:
        config = {"base_url": self.url, "acct_id": CREDS["acct_id"],
                  "username": CREDS["username"], "auth": "password",
                  "password": CREDS["password"], "page_size": 50}
        if overrides.get("auth") in ("app_secret", "sign", "signed_headers"):
            config.pop("password")
            config.update(app_id=CREDS["app_id"], app_secret=CREDS["app_secret"])
        config.update(overrides)
        return config

    def connector(self, **overrides: Any) -> KingdeeConnector:
        return KingdeeConnector.from_dict(self.config(**overrides), connection="erp",
                                          on_call=self.calls.append)

    def vendor_calls(self, method: str | None = None) -> list[dict[str, Any]]:
        log = httpx.get(f"{self.root}/_sandbox/requests").json()
        return [e for e in log if method is None or e["method"] == method.lower()]

    def bills(self, form: str) -> list[dict[str, Any]]:
        return httpx.get(f"{self.root}/_sandbox/bills", params={"form": form}).json()  # type: ignore[no-any-return]


@pytest.fixture
def kingdee() -> Iterator[Kingdee]:
    app = create_app(latency_ms=0, closed_before="2024-01-01")
    faults = FaultInjector(app)
    with serve(faults) as root:
        yield Kingdee(root=root, app=app, faults=faults)
