"""The confluence connector passes the SDK's conformance suite on its sandbox."""

from __future__ import annotations

from connectors.confluence.connector import ConfluenceConnector
from connectors.confluence.sandbox import create_app
from connectors.sdk.testing import ConnectorSuite

EMAIL = "kb-bot@example.com"
TOKEN = "confluence-conformance-token-51c0be"

TestConfluenceConformance = ConnectorSuite.build(
    connector=ConfluenceConnector,
    sandbox=lambda: create_app(email=EMAIL, api_token=TOKEN),
    config=lambda base_url: {"base_url": base_url, "email": EMAIL, "api_token": TOKEN,
                             "space_key": "KB", "page_size": 10},
    bad_config=lambda base_url: {"base_url": base_url, "email": EMAIL,
                                 "api_token": "wrong-token-9d2f44", "space_key": "KB"},
    stream="articles",
    mutate=lambda app, page_id: app.state.sandbox.edit(page_id),
    expected_keys=lambda app: app.state.sandbox.ids(),
)
