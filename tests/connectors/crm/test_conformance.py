"""The crm connector passes the SDK's conformance suite on its sandbox."""

from __future__ import annotations

from typing import Any

from connectors.crm.connector import CrmConnector
from connectors.crm.sandbox import create_app
from connectors.sdk.testing import ConnectorSuite

KEY = "crm-conformance-key-8c41e07d"


def _mutate(app: Any, customer_id: str) -> None:
    app.state.sandbox.update_customer(customer_id, {"level": "钻石"})


TestCrmConformance = ConnectorSuite.build(
    connector=CrmConnector,
    sandbox=lambda: create_app(api_key=KEY, customers=120),
    config=lambda base_url: {"base_url": base_url, "api_key": KEY, "page_size": 25},
    bad_config=lambda base_url: {"base_url": base_url, "api_key": "wrong-key-5b7e2f"},
    stream="customers",
    mutate=_mutate,
    expected_keys=lambda app: [c["id"] for c in app.state.sandbox.customers],
)
