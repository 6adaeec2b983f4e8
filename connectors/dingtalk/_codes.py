"""DingTalk's error conventions, turned into the SDK's typed errors.

Legacy "oapi" endpoints answer HTTP 200 with ``errcode != 0`` (``/topapi`` wraps auth failures
in errcode 88 with the real reason in ``sub_code``); the new "api" host answers 4xx/5xx with a
string ``code``. Branch on the code, never on the status alone (protocol notes §1, §2, §7).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from connectors.sdk import (
    AuthError,
    ConnectorError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    TransientError,
    json_body,
)

__all__ = [
    "NEW_API_PREFIX",
    "TOKEN_INVALID_CODES",
    "app_error",
    "is_new_api",
    "is_token_invalid",
]

NEW_API_PREFIX = "/v1.0/"
# §2: refresh and retry once on these (40014 and 88/40014 observed live; 42001 and 40001 from
# the global code table). 88/40000 (blank token) and 40096 (bad app secret) are not refreshable.
TOKEN_INVALID_CODES = frozenset({40014, 42001, 40001})
TOKEN_INVALID_SUB_CODES = frozenset({"40014", "42001", "40001"})
WRAPPED = 88
NEW_TOKEN_INVALID = "InvalidAuthentication"
# §7: per app and API, platform-wide per API, ISV per tenant: throttling, retry after ~1 s.
APP_THROTTLED = frozenset({90018, 90002, 90019})
SYSTEM_BUSY = -1  # "retry up to 3 times": nothing was done, so even a write may be resent
MONTHLY_QUOTA = 90020
USER_NOT_FOUND = 60121
AUTH_CODES = frozenset({40096, 60011})  # bad app credentials; no permission
BLANK_TOKEN = "40000"  # 88/40000: no token was sent (not refreshable)
THROTTLE_WAIT = 1.0
IP_BLOCK_WAIT = 300.0  # the egress-IP block lasts 5 minutes


def is_new_api(request: httpx.Request) -> bool:
    """True for the new host's ``/v1.0/...`` paths (header token, HTTP-status errors)."""
    return NEW_API_PREFIX in request.url.path


def _code(body: Mapping[str, Any]) -> int | None:
    try:
        return int(body["errcode"])
    except (KeyError, TypeError, ValueError):
        return None


def is_token_invalid(response: httpx.Response) -> bool:
    """§2's refresh rule: legacy 40014/42001/40001 or 88 wrapping them; new-API
    ``InvalidAuthentication``."""
    body = json_body(response)
    if not isinstance(body, Mapping):
        return False
    if is_new_api(response.request):
        return response.status_code == 400 and body.get("code") == NEW_TOKEN_INVALID
    code = _code(body)
    if code in TOKEN_INVALID_CODES:
        return True
    return code == WRAPPED and str(body.get("sub_code")) in TOKEN_INVALID_SUB_CODES


def app_error(
    response: httpx.Response, *, context: Mapping[str, Any],
    redact: Callable[[str], str] = str,
) -> ConnectorError | None:
    """The typed error in a 2xx response of an app API, or None when it succeeded.

    Args:
        response: a 2xx response (4xx/5xx are classified by the SDK from the status).
        context: connector, connection and operation for the error.
        redact: masks secrets in vendor text (the connector's ``redactor.text``).
    """
    if is_new_api(response.request):
        return None  # new-API success is a 2xx with the business object
    body = json_body(response)
    if not isinstance(body, Mapping):
        return TransientError("DingTalk answered with a body that is not JSON (an IP-level "
                              "block answers HTML)", status=response.status_code, **context)
    code = _code(body)
    if code is None:
        if body.get("status") == 1111 or "punish" in body:
            return RateLimitedError("DingTalk blocked this egress IP for too many calls",
                                    retry_after=IP_BLOCK_WAIT, vendor_code="1111", **context)
        return TransientError("DingTalk answered without an errcode", **context)
    if code == 0:
        return None
    sub_code = body.get("sub_code")
    vendor = f"{code}/{sub_code}" if code == WRAPPED and sub_code is not None else str(code)
    text = redact(str(body.get("sub_msg") or body.get("errmsg") or "error"))
    wrapped = str(sub_code) if code == WRAPPED else None
    if code in TOKEN_INVALID_CODES or wrapped in TOKEN_INVALID_SUB_CODES:
        return AuthError(f"access token refused: {text}", vendor_code=vendor, **context)
    if code in AUTH_CODES or wrapped == BLANK_TOKEN:
        return AuthError(text, vendor_code=vendor, **context)
    if code in APP_THROTTLED:
        return RateLimitedError(f"rate limited: {text}", retry_after=THROTTLE_WAIT,
                                vendor_code=vendor, **context)
    if code == SYSTEM_BUSY:
        return RateLimitedError(f"system busy: {text}", vendor_code=vendor, **context)
    if code == USER_NOT_FOUND:
        return NotFoundError(text, vendor_code=vendor, **context)
    if code == MONTHLY_QUOTA:
        return RejectedError(f"the organisation's monthly API quota is spent: {text}",
                             vendor_code=vendor, **context)
    return RejectedError(text, vendor_code=vendor, **context)
