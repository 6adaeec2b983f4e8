"""The dingtalk connector passes the SDK's conformance suite on its sandbox.

DingTalk has no streams here, so the suite exercises one representative call instead: the
mobile lookup (a read served over POST), with tokens that the sandbox can expire.
"""

from __future__ import annotations

from typing import Any

import pytest

from connectors.dingtalk.client import GETBYMOBILE_PATH
from connectors.dingtalk.connector import DingTalkConnector
from connectors.dingtalk.sandbox import create_app
from connectors.sdk.testing import ConnectorSuite

APP_KEY = "dingconformancekey"
APP_SECRET = "conformance-secret-9b1c44e2"
FAST = {"per_second": 1000, "headroom": 1}


def _config(base_url: str, secret: str = APP_SECRET) -> dict[str, Any]:
    return {
        "base_url": base_url, "app_key": APP_KEY, "app_secret": secret, "agent_id": 7,
        "rate_limit": FAST, "token_rate_limit": FAST,
        "robots": {"ops": {"access_token": "conformance-robot-token",
                           "secret": "SECconformance0123456789"}},
        "callback_token": "conformance-callback-token",
        "callback_aes_key": "p9N2z1B7eirZ9VgCMFJk3MjI25okmZR1ao0htYLCLRs",
    }


async def _lookup(connector: Any) -> object:
    return await connector.client.user_by_mobile("13800000001")


TestDingTalkConformance = ConnectorSuite.build(
    connector=DingTalkConnector,
    sandbox=lambda: create_app(app_key=APP_KEY, app_secret=APP_SECRET, agent_id=7),
    config=_config,
    bad_config=lambda base_url: _config(base_url, secret="wrong-secret-0f3d"),
    operation=_lookup,
    operation_path=GETBYMOBILE_PATH,
    expire_tokens=lambda app: app.state.sandbox.expire_tokens(),
    token_path="/gettoken",
    sandbox_secrets=lambda app: app.state.sandbox.issued,
)


@pytest.mark.parametrize("choice", [{}, {"stream": "users", "operation": _lookup}])
def test_suite__takes_a_stream_or_an_operation(choice: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="stream= or operation="):
        ConnectorSuite.build(connector=DingTalkConnector, sandbox=create_app, config=_config,
                             **choice)
