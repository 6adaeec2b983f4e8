"""The custom robot's signature ("加签"), from dingtalk.md §6 vector D, recomputed with hmac."""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx
from pydantic import SecretStr

from connectors.dingtalk import DingTalkRobotSigner

ROBOT_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
ROBOT_URL = "https://oapi.dingtalk.com/robot/send?access_token=robot-token-abc"


def test_dingtalk_robot_signer__matches_vector_d() -> None:
    signer = DingTalkRobotSigner(SecretStr(ROBOT_SECRET), clock=lambda: 1_700_000_000.0)
    request = httpx.Request("POST", ROBOT_URL, json={"msgtype": "text"})
    next(signer.sync_auth_flow(request))

    # The recipe, computed independently: HMAC-SHA256(secret, f"{ts}\n{secret}") -> Base64.
    message = f"1700000000000\n{ROBOT_SECRET}".encode()
    expected = base64.b64encode(
        hmac.new(ROBOT_SECRET.encode(), message, hashlib.sha256).digest()
    ).decode()
    assert expected == "8SZas7RY4E7wuOlgLfjLwHSKZpyUEdXdLvFYSDZiiFw="  # dingtalk.md vector D
    assert request.url.params["timestamp"] == "1700000000000"
    assert request.url.params["sign"] == expected
    assert request.url.params["access_token"] == "robot-token-abc"
    # URL-encoded exactly once on the wire.
    assert b"&sign=8SZas7RY4E7wuOlgLfjLwHSKZpyUEdXdLvFYSDZiiFw%3D" in request.url.raw_path


def test_dingtalk_robot_signer__repr_hides_the_secret() -> None:
    assert ROBOT_SECRET not in repr(DingTalkRobotSigner(SecretStr(ROBOT_SECRET)))
