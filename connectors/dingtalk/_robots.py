"""Custom group robots: the webhook's credentials, its error codes, its own rate budget.

Each robot is a static ``access_token`` (from its webhook URL) and, with signing on, a ``SEC…``
secret: every request carries ``&timestamp=<ms>&sign=<sig>`` (DingTalkRobotSigner).
DingTalk allows 20 messages a minute per robot; a robot's requests go through an HttpClient of
their own whose RateBudget is keyed by the robot, so every job and process sending through it
shares that allowance (protocol notes §6).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from typing_extensions import override

from connectors.sdk import (
    AuthError,
    ConnectorError,
    RateLimitedError,
    RejectedError,
    TransientError,
    json_body,
)
from connectors.sdk.crypto import RequestSigner
from connectors.sdk.ratelimit import RateLimit

__all__ = [
    "ROBOT_PATH",
    "DingTalkRobotSigner",
    "RobotAuth",
    "RobotConfig",
    "budget_key",
    "robot_error",
]

ROBOT_PATH = "/robot/send"
ROBOT_THROTTLED = frozenset({130101, 410100, 660026})  # §6: all three mean "throttled"
ROBOT_UNKNOWN = frozenset({300005, 400101, 400106})
ROBOT_DISABLED = 400102
SECURITY = 310000


class RobotConfig(BaseModel):
    """One custom robot of a group, as ``robots: {ops: {...}}`` in the connection's config.

    Attributes:
        access_token: the ``access_token`` of the robot's webhook URL.
        secret: the ``SEC…`` signing secret, when the robot's security setting is signing.
        rate_limit: the robot's allowance (DingTalk: 20 messages per minute per robot).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    access_token: SecretStr
    secret: SecretStr | None = None
    rate_limit: RateLimit = Field(default_factory=lambda: RateLimit(per_minute=20))


def budget_key(robot: RobotConfig) -> str:
    """One budget per robot, whichever connection posts through it; the key shows no token."""
    digest = hashlib.sha256(robot.access_token.get_secret_value().encode()).hexdigest()[:16]
    return f"dingtalk:robot:{digest}"


class DingTalkRobotSigner(RequestSigner):
    """DingTalk custom group robot ("加签"): ``&timestamp=<ms>&sign=<sig>`` on the webhook URL.

    ``sign = Base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))``, timestamp in Unix
    milliseconds (DingTalk accepts one hour of skew), URL-encoded once. `secret` is the robot's
    ``SEC…`` string; the robot's ``access_token`` stays in the webhook URL (a static credential).

    Example:
        ``httpx.AsyncClient(auth=DingTalkRobotSigner(SecretStr("SEC...")))`` then
        ``POST https://oapi.dingtalk.com/robot/send?access_token=...`` with the message JSON.
    """

    placement = "query"
    signature_name = "sign"
    timestamp_name = "timestamp"

    @override
    def canonical_string(self, request: httpx.Request, timestamp: str, nonce: str) -> str:
        return f"{timestamp}\n{self.secret.get_secret_value()}"


class RobotAuth(DingTalkRobotSigner):
    """``?access_token=`` plus, when the robot has a secret, the timestamp signature."""

    def __init__(self, access_token: SecretStr, secret: SecretStr | None, *,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(secret or SecretStr(""), clock=clock)
        self.access_token = access_token
        self.signed = secret is not None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_set_param("access_token",
                                                 self.access_token.get_secret_value())
        if self.signed:
            yield from super().auth_flow(request)
        else:
            yield request

    def __repr__(self) -> str:
        return f"RobotAuth(access_token=***, secret={'***' if self.signed else None})"


def _security_error(robot: str, errmsg: str, context: Mapping[str, Any]) -> ConnectorError:
    lowered = errmsg.lower()
    if "sign" in lowered:
        return AuthError(f"robot '{robot}': DingTalk refused the signature; check the robot's "
                         "secret (SEC…) in the connection's config", vendor_code="310000",
                         **context)
    if "timestamp" in lowered:
        return AuthError(f"robot '{robot}': DingTalk refused the timestamp; this server's clock "
                         "is more than an hour off", vendor_code="310000", **context)
    if "keyword" in lowered:
        return RejectedError(f"robot '{robot}': the message contains none of the robot's "
                             "keywords", vendor_code="310000", **context)
    if "whitelist" in lowered:
        return AuthError(f"robot '{robot}': this server's IP is not in the robot's allowlist",
                         vendor_code="310000", **context)
    return AuthError(f"robot '{robot}': refused by its security settings", vendor_code="310000",
                     **context)


def robot_error(
    response: httpx.Response, *, robot: str, backoff: float, context: Mapping[str, Any],
    redact: Callable[[str], str] = str,
) -> ConnectorError | None:
    """The typed error in a robot webhook's 200 answer, or None when it was accepted.

    Args:
        response: the webhook's 2xx response.
        robot: the robot's name in the config (errors name it, never its token or secret).
        backoff: seconds to wait after a throttle code (DingTalk: at least a minute).
        context: connector, connection and operation for the error.
        redact: masks secrets in vendor text.
    """
    body = json_body(response)
    if not isinstance(body, Mapping):
        return TransientError(f"robot '{robot}': the webhook answered with a body that is not "
                              "JSON", status=response.status_code, **context)
    try:
        code = int(body.get("errcode", -2))
    except (TypeError, ValueError):
        code = -2
    if code == 0:
        return None
    errmsg = redact(str(body.get("errmsg") or ""))
    vendor = str(code)
    if code in ROBOT_THROTTLED:
        return RateLimitedError(f"robot '{robot}' is throttled (20 messages a minute): {errmsg}",
                                retry_after=backoff, vendor_code=vendor, **context)
    if code == -1:
        return RateLimitedError(f"robot '{robot}': system busy", vendor_code=vendor, **context)
    if code == SECURITY:
        return _security_error(robot, errmsg, context)
    if code in ROBOT_UNKNOWN:
        return AuthError(f"robot '{robot}': DingTalk does not know its access token ({errmsg})",
                         vendor_code=vendor, **context)
    if code == ROBOT_DISABLED:
        return RejectedError(f"robot '{robot}' is disabled", vendor_code=vendor, **context)
    if code == -2:
        return TransientError(f"robot '{robot}': the webhook answered without an errcode",
                              **context)
    return RejectedError(f"robot '{robot}' refused the message: {errmsg}", vendor_code=vendor,
                         **context)
