"""The yonyou connector passes the SDK's conformance suite on its sandbox (customers)."""

from __future__ import annotations

from typing import Any

from connectors.sdk.testing import ConnectorSuite
from connectors.yonyou.connector import YonyouConnector
from connectors.yonyou.sandbox import APP_KEY, APP_SECRET, TENANT_ID, create_app


def _config(root: str, secret: str = APP_SECRET) -> dict[str, Any]:
    """Explicit gateway and token URLs (no lookup), so that base_url's path is the
    gateway's prefix: the suite aims its faults at base_url's path + the stream's path."""
    gateway = root + "/iuap-api-gateway"
    return {"base_url": gateway, "gateway_url": gateway, "token_url": root + "/iuap-api-auth",
            "tenant_id": TENANT_ID, "app_key": APP_KEY, "app_secret": secret,
            "page_size": 5, "rate_limit": {"per_second": 1000}}


def _mutate(app: Any, customer_id: str) -> None:
    for customer in app.state.sandbox.seed.customers:
        if customer["id"] == customer_id:
            customer["name"] = {"simplifiedName": "改名"}
            customer["pubts"] = "2026-11-23 10:00:00"


TestYonyouConformance = ConnectorSuite.build(
    connector=YonyouConnector,
    sandbox=lambda: create_app(latency_ms=0),
    config=_config,
    bad_config=lambda base_url: _config(base_url, secret="wrong-secret-7d1e"),
    stream="customers",
    mutate=_mutate,
    expected_keys=lambda app: [c["id"] for c in app.state.sandbox.seed.customers],
    expire_tokens=lambda app: app.state.sandbox.auth.expire_all(),
    token_path="/iuap-api-auth/open-auth/selfAppAuth",
    sandbox_secrets=lambda app: app.state.sandbox.auth.issued,
)
