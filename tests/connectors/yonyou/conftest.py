"""The Yonyou sandbox on a loopback port behind a FaultInjector, and connectors for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import pytest

from connectors.sdk.http import CallRecord
from connectors.sdk.ratelimit import MemoryBudgetStore
from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector
from connectors.yonyou.connector import YonyouConnector
from connectors.yonyou.sandbox import APP_KEY, APP_SECRET, TENANT_ID, YonyouSandbox, create_app

DOCUMENT: dict[str, Any] = {
    "id": 123, "ticket_ref": "TK-000123", "idempotency_key": "TK000123-RF1",
    "resolved_at": "2026-11-23T10:00:00+08:00", "org": None, "subject": "卡纸",
    "description": None, "category": None, "note": "更换搓纸轮",
    "customer": {"id": 1, "name": "华东电子1号", "external_id": "C001", "erp_number": "C001",
                 "mobile": "13800000001", "email": None},
    "refund": {"amount": "88.50", "currency": "CNY", "method": "wire", "reason": "卡纸退款",
               "lines": [{"amount": "88.50", "method": "wire", "material": "P-1001",
                          "qty": "1"}]},
    "parts": [{"material": "P-1002", "qty": "2", "unit": None, "warehouse": "WH02",
               "note": None}],
    "solution": None,
}


@dataclass
class Server:
    """One running sandbox; the default credentials as class attributes."""

    tenant_id: ClassVar[str] = TENANT_ID
    app_key: ClassVar[str] = APP_KEY
    app_secret: ClassVar[str] = APP_SECRET

    url: str
    app: Any
    faults: FaultInjector
    calls: list[CallRecord] = field(default_factory=list)

    @property
    def state(self) -> YonyouSandbox:
        sandbox: YonyouSandbox = self.app.state.sandbox
        return sandbox

    def config(self, **overrides: Any) -> dict[str, Any]:
        return {"base_url": self.url, "tenant_id": TENANT_ID, "app_key": APP_KEY,
                "app_secret": APP_SECRET, "page_size": 5, "warehouse": "WH01",
                "rate_limit": {"per_second": 1000, "headroom": 1}} | overrides

    def connector(self, **overrides: Any) -> YonyouConnector:
        return YonyouConnector.from_dict(self.config(**overrides), connection="yy",
                                         on_call=self.calls.append,
                                         budget_store=MemoryBudgetStore())

    def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = httpx.request(method, self.url + "/_sandbox" + path, **kwargs)
        response.raise_for_status()
        return response

    def bills(self, kind: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.control("GET", "/bills", params={"kind": kind}).json()
        return rows

    def paths(self, code: str | None = None) -> list[str]:
        return [r["path"] for r in self.state.log if code is None or r["code"] == code]


@pytest.fixture
def sandbox() -> Iterator[Server]:
    with ExitStack() as stack:
        app = create_app(latency_ms=0)
        faults = FaultInjector(app)
        url = stack.enter_context(serve(faults))
        yield Server(url=url, app=app, faults=faults)
