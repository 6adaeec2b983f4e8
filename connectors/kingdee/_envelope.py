"""The WebAPI's answer envelope → the SDK's typed errors.

Kingdee answers HTTP 200 for nearly everything; the verdict is inside the body:

- form operations: `{"Result": {"ResponseStatus": {"IsSuccess", "MsgCode", "Errors": [...]}}}`;
- ExecuteBillQuery: rows `[[...], ...]`, or the same Result object wrapped `[[{...}]]`;
- logins: a LoginResult whose `LoginResultType` is 1 on success;
- server exceptions: plain text starting with `response_error:`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from connectors.sdk import (
    AuthError,
    ConnectorError,
    RateLimitedError,
    RejectedError,
    TransientError,
)

__all__ = ["KingdeeRejectedError", "SessionLostError", "check_envelope", "find_status"]

# MsgCode → error class (the official parameter docs' table, §4 of the notes).
_SESSION_LOST = 1
_AUTH = frozenset({2, 7, 15})
_RATE_LIMITED = 14
_TRANSIENT = frozenset({6, 13})  # database failure, network-control (edit lock) conflict


class SessionLostError(AuthError):
    """MsgCode 1: the session (context) is gone. The client logs in again and resends;
    it only escapes (as an AuthError) when re-logins are exhausted."""


class KingdeeRejectedError(RejectedError):
    """A refusal, with the vendor's `Errors[]` items kept for callers that must tell a
    duplicate bill number from other refusals."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]], **context: Any) -> None:
        super().__init__(message, **context)
        self.errors = errors


def find_status(body: Any) -> Mapping[str, Any] | None:
    """The ResponseStatus in a body, plain or wrapped `[[{...}]]`; None for data rows."""
    if isinstance(body, list):
        first = body[0] if body else None
        if isinstance(first, list) and first and isinstance(first[0], Mapping):
            body = first[0]
        elif isinstance(first, Mapping):
            body = first
        else:
            return None
    if not isinstance(body, Mapping):
        return None
    result = body.get("Result")
    if isinstance(result, Mapping):
        status = result.get("ResponseStatus")
        if isinstance(status, Mapping):
            return status
    return None


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for item in errors:
        field = item.get("FieldName")
        message = str(item.get("Message") or "").strip()
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(p for p in parts if p) or "the operation failed"


def _login_error(body: Mapping[str, Any]) -> ConnectorError | None:
    # Only 1 is success; every other LoginResultType (their meanings are UNVERIFIED) fails.
    if body.get("LoginResultType") == 1 and body.get("KDSVCSessionId"):
        return None
    message = str(body.get("Message") or "login refused")
    kind = body.get("LoginResultType")
    return AuthError(f"login refused: {message}", vendor_code=f"LoginResultType {kind}")


def check_envelope(response: httpx.Response) -> ConnectorError | None:
    """The typed error a 2xx Kingdee answer carries, or None when it is a success."""
    text = response.text
    if text.lstrip().startswith("response_error:"):
        detail = text.lstrip()[len("response_error:"):].strip()
        try:
            parsed = json.loads(detail)
            detail = str(parsed.get("Message") or detail) if isinstance(parsed, dict) else detail
        except ValueError:
            pass
        return TransientError(f"server exception: {detail[:300] or 'no message'}",
                              status=response.status_code)
    try:
        body = response.json()
    except ValueError:
        return TransientError("the answer is not JSON", status=response.status_code)
    if isinstance(body, Mapping) and "LoginResultType" in body:
        return _login_error(body)
    status = find_status(body)
    if status is None or status.get("IsSuccess", True):
        return None
    errors = [dict(e) for e in status.get("Errors") or [] if isinstance(e, Mapping)]
    code = status.get("MsgCode")
    message = _describe(errors)
    vendor_code = f"MsgCode {code}"
    if code == _SESSION_LOST:
        return SessionLostError(message, vendor_code=vendor_code)
    if code in _AUTH:
        return AuthError(message, vendor_code=vendor_code)
    if code == _RATE_LIMITED:
        return RateLimitedError(message, vendor_code=vendor_code)
    if code in _TRANSIENT:
        return TransientError(message, vendor_code=vendor_code)
    return KingdeeRejectedError(message, errors=errors, vendor_code=vendor_code)
