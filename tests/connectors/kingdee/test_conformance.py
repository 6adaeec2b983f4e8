"""The kingdee connector passes the SDK's conformance suite on its sandbox (session logins)."""

from __future__ import annotations

from typing import Any

from connectors.kingdee.connector import KingdeeConnector
from connectors.kingdee.sandbox import create_app
from connectors.sdk.testing import ConnectorSuite

from .conftest import CREDS


def _config(base_url: str, **overrides: Any) -> dict[str, Any]:
    return {"base_url": f"{base_url}/k3cloud/", "acct_id": CREDS["acct_id"],
            "username": CREDS["username"], "password": CREDS["password"], "page_size": 12,
            **overrides}


def _sessions(app: Any) -> list[str]:
    return list(app.state.sandbox.sessions.ever_issued)


TestKingdeeConformance = ConnectorSuite.build(
    connector=KingdeeConnector,
    sandbox=lambda: create_app(latency_ms=0),
    config=_config,
    bad_config=lambda base_url: _config(base_url, password="wrong-password-9f3e"),
    stream="customers",
    mutate=lambda app, number: app.state.sandbox.touch("BD_Customer", number),
    expected_keys=lambda app: [c["FNUMBER"] for c in app.state.sandbox.store.records[
        "BD_CUSTOMER"]],
    expire_tokens=lambda app: app.state.sandbox.sessions.expire_all(),
    token_path="/k3cloud/Kingdee.BOS.WebApi.ServicesStub.AuthService.",
    sandbox_secrets=_sessions,
)

TestKingdeeSignedConformance = ConnectorSuite.build(
    connector=KingdeeConnector,
    sandbox=lambda: create_app(latency_ms=0),
    config=lambda base_url: _config(base_url, auth="signed_headers", password=None,
                                    app_id=CREDS["app_id"], app_secret=CREDS["app_secret"]),
    bad_config=lambda base_url: _config(base_url, auth="signed_headers", password=None,
                                        app_id=CREDS["app_id"], app_secret="e" * 32),
    stream="materials",
    mutate=lambda app, number: app.state.sandbox.touch("BD_MATERIAL", number),
    name="TestKingdeeSignedConformance",
)
