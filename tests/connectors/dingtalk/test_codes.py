"""DingTalk's error codes → the SDK's typed errors, and the refresh rule (protocol notes §1–§7)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.dingtalk._codes import app_error, is_token_invalid
from connectors.dingtalk._robots import robot_error
from connectors.sdk import (
    AuthError,
    ConnectorError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    TransientError,
)

OAPI = "https://oapi.dingtalk.com/topapi/v2/user/getbymobile"
API = "https://api.dingtalk.com/v1.0/robot/oToMessages/batchSend"
CONTEXT = {"connector": "dingtalk", "connection": "dt", "operation": "op"}


def response(body: Any, *, status: int = 200, url: str = OAPI) -> httpx.Response:
    request = httpx.Request("POST", url)
    if isinstance(body, str):
        return httpx.Response(status, text=body, request=request)
    return httpx.Response(status, json=body, request=request)


def wrapped(sub_code: str) -> dict[str, Any]:
    return {"errcode": 88, "sub_code": sub_code, "sub_msg": "x",
            "errmsg": f"ding talk error[subcode={sub_code},submsg=x]"}


@pytest.mark.parametrize(("body", "status", "url", "refresh"), [
    ({"errcode": 40014, "errmsg": "不合法的access_token"}, 200, OAPI, True),
    ({"errcode": 42001, "errmsg": "access_token超时"}, 200, OAPI, True),
    ({"errcode": 40001, "errmsg": "secret wrong or token invalid"}, 200, OAPI, True),
    (wrapped("40014"), 200, OAPI, True),
    (wrapped("42001"), 200, OAPI, True),
    (wrapped("40001"), 200, OAPI, True),
    (wrapped("40000"), 200, OAPI, False),  # blank token: the client's bug, not expiry
    ({"errcode": 40096, "errmsg": "不合法的appKey或appSecret"}, 200, OAPI, False),
    ({"errcode": 0, "errmsg": "ok"}, 200, OAPI, False),
    ({"code": "InvalidAuthentication", "message": "不合法的access_token"}, 400, API, True),
    ({"code": "AuthenticationFailed.MissingParameter"}, 400, API, False),
    ({"code": "invalidClientIdOrSecret"}, 400, API, False),
    ({"code": "InvalidAuthentication"}, 403, API, False),
    ("<html>blocked</html>", 200, OAPI, False),
])
def test_is_token_invalid__follows_the_refresh_rule(
    body: Any, status: int, url: str, refresh: bool
) -> None:
    assert is_token_invalid(response(body, status=status, url=url)) is refresh


@pytest.mark.parametrize(("body", "kind", "vendor_code"), [
    ({"errcode": 0, "errmsg": "ok", "task_id": 1}, None, None),
    ({"errcode": 40014, "errmsg": "不合法的access_token"}, AuthError, "40014"),
    (wrapped("40014"), AuthError, "88/40014"),
    (wrapped("40000"), AuthError, "88/40000"),
    ({"errcode": 40096, "errmsg": "不合法的appKey或appSecret"}, AuthError, "40096"),
    ({"errcode": 60011, "errmsg": "no permission"}, AuthError, "60011"),
    ({"errcode": 90018, "errmsg": "too fast"}, RateLimitedError, "90018"),
    ({"errcode": 90002, "errmsg": "platform busy"}, RateLimitedError, "90002"),
    ({"errcode": 90019, "errmsg": "isv"}, RateLimitedError, "90019"),
    ({"errcode": -1, "errmsg": "系统繁忙"}, RateLimitedError, "-1"),
    ({"errcode": 60121, "errmsg": "找不到该用户"}, NotFoundError, "60121"),
    ({"errcode": 90020, "errmsg": "quota"}, RejectedError, "90020"),
    ({"errcode": 22, "errmsg": "不合法ApiName"}, RejectedError, "22"),
    ({"status": 1111, "wait": 5, "source": "x5", "punish": "deny"}, RateLimitedError, "1111"),
    ("<html>denied</html>", TransientError, None),
    ({"result": "no errcode"}, TransientError, None),
])
def test_app_error__classifies_legacy_bodies(
    body: Any, kind: type[ConnectorError] | None, vendor_code: str | None
) -> None:
    error = app_error(response(body), context=CONTEXT)
    if kind is None:
        assert error is None
        return
    assert type(error) is kind
    assert error is not None and error.vendor_code == vendor_code
    assert error.connection == "dt" and error.operation == "op"


def test_app_error__throttling_asks_for_about_a_second() -> None:
    error = app_error(response({"errcode": 90018, "errmsg": "x"}), context=CONTEXT)
    assert isinstance(error, RateLimitedError) and error.retry_after == 1.0


def test_app_error__new_api_success_is_the_business_object() -> None:
    assert app_error(response({"processQueryKey": "k"}, url=API), context=CONTEXT) is None


def test_app_error__masks_secrets_in_vendor_text() -> None:
    body = {"errcode": 40035, "errmsg": "bad appsecret=s3cr3t-value"}
    error = app_error(response(body), context=CONTEXT, redact=lambda t: t.replace("s3cr3t", "*"))
    assert error is not None and "s3cr3t" not in str(error)


@pytest.mark.parametrize(("body", "kind", "says"), [
    ({"errcode": 0, "errmsg": "ok"}, None, None),
    ({"errcode": 310000, "errmsg": "sign not match"}, AuthError, "signature"),
    ({"errcode": 310000, "errmsg": "invalid timestamp"}, AuthError, "clock"),
    ({"errcode": 310000, "errmsg": "keywords not in content"}, RejectedError, "keywords"),
    ({"errcode": 310000, "errmsg": "ip 1.2.3.4 not in whitelist"}, AuthError, "allowlist"),
    ({"errcode": 300005, "errmsg": "token is not exist"}, AuthError, "access token"),
    ({"errcode": 400101, "errmsg": "access_token不存在"}, AuthError, "access token"),
    ({"errcode": 400106, "errmsg": "robot 不存在"}, AuthError, "access token"),
    ({"errcode": 400102, "errmsg": "机器人已停用"}, RejectedError, "disabled"),
    ({"errcode": 130101, "errmsg": "send too fast"}, RateLimitedError, "throttled"),
    ({"errcode": 410100, "errmsg": "发送速度太快而限流"}, RateLimitedError, "throttled"),
    ({"errcode": 660026, "errmsg": "sending too many messages per minute"}, RateLimitedError,
     "throttled"),
    ({"errcode": 400105, "errmsg": "不支持的消息类型"}, RejectedError, "refused"),
    ({"errcode": 43004, "errmsg": "无效的HTTP HEADER Content-Type"}, RejectedError, "refused"),
    ({"errcode": 430101, "errmsg": "含有不安全的外链"}, RejectedError, "refused"),
    ({"errmsg": "no code"}, TransientError, "without an errcode"),
    ("<html/>", TransientError, "not JSON"),
])
def test_robot_error__maps_every_documented_code(
    body: Any, kind: type[ConnectorError] | None, says: str | None
) -> None:
    error = robot_error(response(body, url="https://oapi.dingtalk.com/robot/send"),
                        robot="ops", backoff=60.0, context=CONTEXT)
    if kind is None:
        assert error is None
        return
    assert type(error) is kind
    assert "robot 'ops'" in str(error) and says is not None and says in str(error)
    if isinstance(error, RateLimitedError) and error.vendor_code != "-1":
        assert error.retry_after == 60.0
