"""The SDK's conformance suite, run on an operation (WeCom has no streams), plus the
connector-specific checks the suite does not make: config validation, registration,
capabilities.

WeCom has nothing paged to read (the notes describe no listing API), so the suite exercises
`notify`: a POST that is safe to retry because it asks WeCom's duplicate check.
"""

from __future__ import annotations

import importlib
import itertools
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.sdk.messaging import Message, Notifier, Recipient, RobotPoster, WebhookReceiver
from connectors.sdk.testing import ConnectorSuite
from connectors.wecom.connector import WeComConfig, WeComConnector
from connectors.wecom.sandbox import create_app

from .conftest import AES_KEY, AGENT_ID, CALLBACK_TOKEN, CORP_ID, FAST, SECRET, WeComEnv

ROOT = Path(__file__).resolve().parents[3]
SEND = "/cgi-bin/message/send"
BASE = {"corp_id": "ww1", "corp_secret": "s3cret-value", "agent_id": 1}
_SERIAL = itertools.count()


def _config(base_url: str, secret: str = SECRET) -> dict[str, Any]:
    return {"base_url": base_url, "corp_id": CORP_ID, "corp_secret": secret,
            "agent_id": AGENT_ID, "member_rate_limit": FAST, "token_rate_limit": FAST,
            "robots": {"ops": {"key": "conformance-robot-key"}},
            "callback_token": CALLBACK_TOKEN, "callback_aes_key": AES_KEY}


async def _notify(connector: Any) -> object:
    # A new text each time: WeCom's duplicate check would swallow a repeated one.
    message = Message("text", "conformance", f"message {next(_SERIAL)}")
    return await connector.notify(message, to=[Recipient.user("lisi")])


TestWeComConformance = ConnectorSuite.build(
    connector=WeComConnector,
    sandbox=lambda: create_app(corp_id=CORP_ID, corp_secret=SECRET, agent_id=AGENT_ID),
    config=_config,
    bad_config=lambda base_url: _config(base_url, secret="wrong-secret-1d9e7a"),
    operation=_notify,
    operation_path=SEND,
    expire_tokens=lambda app: app.state.sandbox.expire_tokens(),
    token_path="/cgi-bin/gettoken",
    sandbox_secrets=lambda app: app.state.sandbox.issued_tokens(),
)


def test_registry__entry_point_names_the_connector() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    target = pyproject["project"]["entry-points"]["hub.connectors"]["wecom"]
    module, _, attribute = target.partition(":")
    assert getattr(importlib.import_module(module), attribute) is WeComConnector


def test_capabilities__notifier_robot_poster_webhook_receiver() -> None:
    connector = WeComConnector.from_dict(BASE)
    assert isinstance(connector, Notifier)
    assert isinstance(connector, RobotPoster)
    assert isinstance(connector, WebhookReceiver)
    assert WeComConnector.streams == {}


@pytest.mark.parametrize(("overrides", "error"), [
    ({}, None),
    ({"callback_token": "Tok3n", "callback_aes_key": AES_KEY}, None),
    ({"robots": {"ops-1": {"key": "k1"}, "sales_2": {"key": "k2"}}}, None),
    ({"callback_token": "Tok3n"}, "both callback_token and callback_aes_key"),
    ({"callback_token": "Tok3n", "callback_aes_key": AES_KEY[:-1]}, "exactly 43"),
    ({"callback_token": "tok-en!", "callback_aes_key": AES_KEY}, "1-32 letters or digits"),
    ({"robots": {"运维": {"key": "k"}}}, "robot name"),
    ({"robots": {"ops": {"key": "k", "url": "x"}}}, "Extra inputs"),
    ({"duplicate_check_interval": 0}, "greater than or equal to 1"),
    ({"duplicate_check_interval": 14401}, "less than or equal to 14400"),
    ({"agentid": 1}, "Extra inputs"),
    ({"corp_secret": None}, "corp_secret"),
])
def test_config__valid_and_invalid(overrides: dict[str, Any], error: str | None) -> None:
    data = {**BASE, **overrides}
    if error is None:
        WeComConfig.model_validate(data)
        return
    with pytest.raises(ValidationError, match=error):
        WeComConfig.model_validate(data)


async def test_retry__dropped_mobile_lookup_is_retried(wecom: WeComEnv) -> None:
    path = "/cgi-bin/user/getuserid"
    wecom.faults.drop_next(1, path_prefix=path)
    async with wecom.connector() as connector:
        delivery = await connector.notify(Message("text", "t", "x"),
                                          to=[Recipient.by_mobile("13800000002")])
    assert delivery.status == "sent"
    assert [r.result for r in wecom.faults.requests() if r.path == path] == ["dropped", 200]
    assert len(wecom.sandbox.inbox("lisi")) == 1
