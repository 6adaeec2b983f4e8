"""WeCom's server API as the connector speaks it: paths, the errcode envelope, tokens.

Every answer is HTTP 200 with ``{"errcode": int, "errmsg": str}``; `errcode` alone decides
what happened (``0`` = ok) and `errmsg` is kept verbatim, secrets masked, because its
``hint: [...]`` is what WeCom support asks for. `classify` turns a non-zero code into the
SDK's typed error, which alone drives retries:

=====================================  ===========================================
errcode                                error
=====================================  ===========================================
-1 (system busy)                       TransientError, not processed: retried
45009 (frequency), 45033 (concurrency) RateLimitedError: retried after a wait
40014 / 42001 (token invalid/expired)  refreshed once by TokenAuth, then AuthError
gettoken codes, 48002, 60020           AuthError
46004 (no such user)                   NotFoundError
93000 / 93004 (robot gone/disabled)    ConfigError: the robot's key is unusable
anything else                          RejectedError with the code
=====================================  ===========================================
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.sdk import (
    AuthError,
    ConfigError,
    ConnectorError,
    HttpClient,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RetriableError,
    TransientError,
    json_body,
)
from connectors.sdk.auth import CachedToken, TokenCache, TokenProvider
from connectors.sdk.ratelimit import RateBudget, RateCap
from connectors.sdk.redaction import Redactor

__all__ = [
    "API",
    "OPERATIONS",
    "TOKEN_INVALID_CODES",
    "WeComClient",
    "WeComTokens",
    "classify",
]

log = logging.getLogger("connectors.wecom")

API = "/cgi-bin"
GETTOKEN = API + "/gettoken"
MESSAGE_SEND = API + "/message/send"
GET_USER_ID = API + "/user/getuserid"
ROBOT_SEND = API + "/webhook/send"
KF_ACCOUNT_LIST = API + "/kf/account/list"  # 微信客服 (kf): see kf.py
KF_SYNC_MSG = API + "/kf/sync_msg"
KF_SEND_MSG = API + "/kf/send_msg"
KF_CUSTOMER_BATCHGET = API + "/kf/customer/batchget"

TOKEN_INVALID_CODES = frozenset({40014, 42001})  # refresh once and resend (not 40001: see notes)
_BUSY = -1
_FREQUENCY = 45009  # a minute-level block clears after 60 s, an hour-level one after an hour
_CONCURRENCY = 45033
FREQUENCY_WAIT = 60.0  # seconds asked for after 45009 (capped by the config's max_retry_after)
OPERATIONS = {GETTOKEN: "token", MESSAGE_SEND: "message.send", GET_USER_ID: "user.getuserid",
              ROBOT_SEND: "robot.send", KF_ACCOUNT_LIST: "kf.account.list",
              KF_SYNC_MSG: "kf.sync_msg", KF_SEND_MSG: "kf.send_msg",
              KF_CUSTOMER_BATCHGET: "kf.customer.batchget"}
_AUTH_CODES = frozenset({40001, 40013, 40091, 41001, 41002, 41004, 48002, 60020})
_NOT_FOUND_CODES = frozenset({46004})
_ROBOT_UNUSABLE_CODES = frozenset({93000, 93004})


def classify(
    body: Any, *, redact: Callable[[str], str] | None = None
) -> ConnectorError | None:
    """The typed error for a WeCom answer, or None when `errcode` is 0.

    Args:
        body: the decoded JSON answer.
        redact: a function masking secrets in the vendor's `errmsg` (the connector's redactor).
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("errcode"), int):
        return RejectedError("the answer is not a WeCom errcode envelope")
    code: int = body["errcode"]
    if code == 0:
        return None
    message = str(body.get("errmsg") or "no errmsg")
    if redact is not None:
        message = redact(message)
    vendor_code = str(code)
    if code == _BUSY:
        # WeCom says it did not process the call: even a write may be sent again.
        return TransientError(message, vendor_code=vendor_code, never_sent=True)
    if code == _FREQUENCY:
        return RateLimitedError(message, vendor_code=vendor_code, retry_after=FREQUENCY_WAIT)
    if code == _CONCURRENCY:
        return RateLimitedError(message, vendor_code=vendor_code)  # back off exponentially
    if code in TOKEN_INVALID_CODES or code in _AUTH_CODES:
        return AuthError(message, vendor_code=vendor_code)
    if code in _NOT_FOUND_CODES:
        return NotFoundError(message, vendor_code=vendor_code)
    if code in _ROBOT_UNUSABLE_CODES:
        return ConfigError(message, vendor_code=vendor_code)
    return RejectedError(message, vendor_code=vendor_code)


class WeComTokens(TokenProvider):
    """`gettoken` with the corp id and the app's secret; the token travels as a query param.

    Two guards keep the token endpoint from being called more often than WeCom tolerates
    (repeated wrong secrets get the calling IP blocked for an hour):

    * `budget`, when given, spaces the token calls of one app (one budget key per app,
      shared by every process through the hub's budget store);
    * a refusal (wrong secret, disabled app) is written to `refusals` (the token cache, so
      every process sharing it sees it) for `refusal_backoff` seconds; fetches in that time
      fail at once with the same error, without calling WeCom.

    Args:
        token_url: the absolute URL of ``/cgi-bin/gettoken``.
        corp_id: the enterprise's corp id.
        secret: the app's secret.
        refusals: where refusals are remembered (None: nowhere) ...
        refusal_key: ... under this key.
        budget: spaces token calls (None: no spacing).
        refusal_backoff: seconds a refused secret is not tried again.
        cap: token calls allowed per day (None: no cap); beyond it a fetch is not sent.
    """

    query = "access_token"

    def __init__(
        self, token_url: str, corp_id: str, secret: SecretStr, *,
        refusals: TokenCache | None = None, refusal_key: str = "",
        budget: RateBudget | None = None, refusal_backoff: float = 60.0,
        cap: RateCap | None = None,
    ) -> None:
        self.token_url = token_url
        self.corp_id = corp_id
        self.secret = secret
        self.refusals = refusals
        self.refusal_key = refusal_key or f"wecom:{corp_id}:refused"
        self.budget = budget
        self.refusal_backoff = refusal_backoff
        self.cap = cap

    async def fetch(self, client: httpx.AsyncClient) -> CachedToken:
        await self._raise_remembered_refusal()
        await self.count_fetch(self.cap)
        if self.budget is not None:
            await self.budget.acquire()
        response = await self.request_token(client, "GET", self.token_url, params={
            "corpid": self.corp_id, "corpsecret": self.secret.get_secret_value()})
        body = json_body(response)
        error = classify(body, redact=Redactor(self.secret_values()).text)
        status = response.status_code  # errors carry it: WeCom did answer (check() says so)
        if error is None:
            try:
                return CachedToken.issue(str(body["access_token"]),
                                         expires_in=float(body["expires_in"]))
            except (KeyError, TypeError, ValueError):
                raise TransientError("gettoken answered errcode 0 without a usable token",
                                     operation="token", status=status) from None
        if isinstance(error, RetriableError) or error.vendor_code is None:
            # -1, 45009, 45033 or a garbled answer: try again later, the secret may be fine.
            error.operation, error.status = "token", status
            raise error
        refused = self.refused(error.message, status=status, vendor_code=error.vendor_code)
        if self.refusals is not None and self.refusal_backoff > 0:
            await self.refusals.put(self.refusal_key, CachedToken.issue(
                "refused", expires_in=self.refusal_backoff,
                extra={"message": refused.message, "vendor_code": refused.vendor_code}))
        log.warning("gettoken refused for corp %s (errcode %s); not tried again for %g s",
                    self.corp_id, error.vendor_code, self.refusal_backoff)
        raise refused

    async def _raise_remembered_refusal(self) -> None:
        if self.refusals is None:
            return
        refusal = await self.refusals.get(self.refusal_key)
        if refusal is None or refusal.expires_at is None or refusal.expires_at <= time.time():
            return
        left = refusal.expires_at - time.time()
        raise AuthError(f"{refusal.extra.get('message')} (not tried again for {left:.0f} s)",
                        operation="token", status=200,
                        vendor_code=str(refusal.extra.get("vendor_code") or "") or None)

    def is_token_invalid(self, response: httpx.Response) -> bool:
        body = json_body(response)
        return isinstance(body, Mapping) and body.get("errcode") in TOKEN_INVALID_CODES

    def __repr__(self) -> str:
        return f"WeComTokens(corp_id={self.corp_id!r}, secret=***)"


class WeComClient:
    """Calls of WeCom's API over the connector's HttpClient (token added by its auth)."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    async def send_app_message(
        self, body: Mapping[str, Any], *, retry_safe: bool
    ) -> dict[str, Any]:
        """POST message/send; the whole answer (errcode 0: `invaliduser`, `msgid`, ...).

        `retry_safe` says the body asks WeCom's duplicate check, so a resend after a lost
        answer is dropped by WeCom rather than delivered twice.
        """
        response = await self.http.send(
            "POST", MESSAGE_SEND, operation="message.send", json=dict(body),
            idempotency_key="duplicate-check" if retry_safe else None,
        )
        answer: dict[str, Any] = response.json()
        return answer

    async def get_user_id(self, mobile: str) -> str | None:
        """The userid of the member with this mobile, or None when there is none."""
        try:
            response = await self.http.send(
                "POST", GET_USER_ID, operation="user.getuserid", json={"mobile": mobile},
                idempotency_key="read",  # a lookup: safe to send again
            )
        except NotFoundError:
            return None
        user_id = response.json().get("userid")
        return str(user_id) if user_id else None

    async def post_robot(self, key: SecretStr, body: Mapping[str, Any]) -> None:
        """POST webhook/send?key=...; the key is the credential (masked in every log)."""
        await self.http.send(
            "POST", ROBOT_SEND, operation="robot.send", json=dict(body),
            params={"key": key.get_secret_value()},
        )
