"""The internal app's access token: legacy ``GET /gettoken`` (protocol notes §2)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import httpx
from pydantic import SecretStr
from typing_extensions import override

from connectors.sdk import RateLimitedError, TransientError, json_body
from connectors.sdk.auth import CachedToken, TokenProvider
from connectors.sdk.ratelimit import RateBudget, RateCap

from ._codes import APP_THROTTLED, SYSTEM_BUSY, THROTTLE_WAIT, is_new_api, is_token_invalid

__all__ = ["GETTOKEN_PATH", "NEW_TOKEN_HEADER", "DingTalkTokens"]

GETTOKEN_PATH = "/gettoken"
NEW_TOKEN_HEADER = "x-acs-dingtalk-access-token"


class DingTalkTokens(TokenProvider):
    """Fetches the app token with appkey/appsecret; puts it where each host expects it.

    Legacy paths get ``?access_token=``; new-API ``/v1.0/`` paths get the
    ``x-acs-dingtalk-access-token`` header (the query form is refused there). Token fetches
    wait on `budget`, so a storm of refusals never calls gettoken faster than it allows.

    Args:
        base_url: the legacy host (``https://oapi.dingtalk.com``).
        app_key: the internal app's AppKey.
        app_secret: its AppSecret.
        budget: spaces token fetches (None: no spacing).
        cap: token fetches allowed per day (None: no cap); beyond it a fetch is not sent.
        clock: Unix-seconds clock, for the token's issue time.
    """

    query = "access_token"

    def __init__(
        self, base_url: str, app_key: str, app_secret: SecretStr, *,
        budget: RateBudget | None = None, clock: Callable[[], float] = time.time,
        cap: RateCap | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + GETTOKEN_PATH
        self.app_key = app_key
        self.app_secret = app_secret
        self.budget = budget
        self.clock = clock
        self.cap = cap

    async def fetch(self, client: httpx.AsyncClient) -> CachedToken:
        await self.count_fetch(self.cap)
        if self.budget is not None:
            await self.budget.acquire()
        response = await self.request_token(client, "GET", self.url, params={
            "appkey": self.app_key, "appsecret": self.app_secret.get_secret_value()})
        body = json_body(response)
        if not isinstance(body, Mapping) or "errcode" not in body:
            raise TransientError("gettoken answered with an unexpected body", operation="token",
                                 status=response.status_code)
        code = body["errcode"]
        if code in APP_THROTTLED or code == SYSTEM_BUSY:
            raise RateLimitedError("gettoken is rate-limited", operation="token",
                                   retry_after=THROTTLE_WAIT, vendor_code=str(code))
        if code != 0 or not body.get("access_token"):
            raise self.refused(body.get("errmsg"), vendor_code=code)
        return CachedToken.issue(str(body["access_token"]), expires_in=float(body["expires_in"]),
                                 now=self.clock())

    @override
    def is_token_invalid(self, response: httpx.Response) -> bool:
        return is_token_invalid(response)

    @override
    def apply(self, request: httpx.Request, token: CachedToken) -> None:
        if is_new_api(request):
            request.headers[NEW_TOKEN_HEADER] = token.access_token.get_secret_value()
        else:
            super().apply(request, token)

    def __repr__(self) -> str:
        return f"DingTalkTokens(app_key={self.app_key!r}, app_secret=***)"
