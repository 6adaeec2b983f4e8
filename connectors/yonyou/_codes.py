"""The gateway's envelope ``{"code", "message", "data"}`` turned into the SDK's typed errors.

=========================================  ============================================
code                                       error
=========================================  ============================================
"200" (also the number 200)                success
"00000"                                    success of the token / data-centre endpoints
310001, 310036, text ``非法token``          token missing/invalid/expired: TokenAuth renews
                                           once and resends; then AuthError
310005/310006/310037, 10018, IP codes      AuthError
310032/310039/310042/310046                RateLimitedError (exponential back-off)
202                                        TransientError, never_sent: an MDD save with the
                                           same resubmitCheckKey is still processing; resend
310504/310071/310072/310043                TransientError (backend failed / circuit open)
100004 / 10004                             DuplicateSubmitError (a RejectedError): "already
                                           done", with the bill's `data.id` when given
999 and anything else                      RejectedError with message (+ displayCode)
=========================================  ============================================

Batch actions answer "200" even when items fail: `batch_failure` reads `failCount`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from connectors.sdk import (
    AuthError,
    ConnectorError,
    RateLimitedError,
    RejectedError,
    TransientError,
    json_body,
)

__all__ = ["DUPLICATE_CODES", "INVALID_TOKEN_TEXT", "TOKEN_INVALID_CODES",
           "DuplicateSubmitError", "batch_failure", "classify", "is_success", "is_token_invalid"]

SUCCESS = "200"
INVALID_TOKEN_TEXT = "非法token"
TOKEN_INVALID_CODES = frozenset({"310001", "310036"})
DUPLICATE_CODES = frozenset({"100004", "10004"})  # idempotency page vs code table: both
_RATE_CODES = frozenset({"310032", "310039", "310042", "310046"})
_TRANSIENT_CODES = frozenset({"310504", "310071", "310072", "310043", "315001"})
_PROCESSING = "202"
_AUTH_CODES = frozenset({"310003", "310005", "310006", "310037", "10018", "310031", "310038",
                         "310041", "310047"})


class DuplicateSubmitError(RejectedError):
    """100004/10004: a save whose `resubmitCheckKey` already succeeded, answered after the
    gateway's idempotency window (notes §6). `bill_id` is the bill it made (`data.id`)."""

    def __init__(self, message: str, *, bill_id: str | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.bill_id = bill_id


def is_success(body: Any) -> bool:
    return isinstance(body, Mapping) and str(body.get("code")) == SUCCESS


def is_token_invalid(response: httpx.Response) -> bool:
    """310001/310036, or the plain-text ``非法token`` one API answers (notes §3)."""
    body = json_body(response)
    if isinstance(body, Mapping):
        return str(body.get("code")) in TOKEN_INVALID_CODES
    return INVALID_TOKEN_TEXT in response.text[:200]


def classify(body: Any, *, text: str = "",
             redact: Callable[[str], str] = str) -> ConnectorError | None:
    """The typed error for one gateway answer, or None for code "200"."""
    if not isinstance(body, Mapping):
        if INVALID_TOKEN_TEXT in text[:200]:
            return AuthError(INVALID_TOKEN_TEXT, vendor_code="310036")
        return RejectedError("the answer is not a YonBIP JSON envelope")
    code = str(body.get("code"))
    if code == SUCCESS:
        return None
    message = redact(str(body.get("message") or "no message"))
    if body.get("displayCode"):
        message = f"{message} [displayCode {redact(str(body['displayCode']))}]"
    if code in TOKEN_INVALID_CODES or code in _AUTH_CODES:
        return AuthError(message, vendor_code=code)
    if code in _RATE_CODES:
        return RateLimitedError(message, vendor_code=code)
    if code == _PROCESSING:
        # Only MDD saves answer 202, and resending the same resubmitCheckKey is the remedy.
        return TransientError(f"still processing: {message}", vendor_code=code, never_sent=True)
    if code in _TRANSIENT_CODES:
        return TransientError(message, vendor_code=code)
    if code in DUPLICATE_CODES:
        data = body.get("data")
        bill_id = data.get("id") if isinstance(data, Mapping) else None
        return DuplicateSubmitError(message, vendor_code=code,
                                    bill_id=None if bill_id in (None, "") else str(bill_id))
    return RejectedError(message, vendor_code=code)


def batch_failure(data: Any, *, redact: Callable[[str], str] = str) -> RejectedError | None:
    """A RejectedError listing the item messages when a batch answered 200 with failures."""
    if not isinstance(data, Mapping):
        return None
    try:
        failed = int(data.get("failCount") or 0)
    except (TypeError, ValueError):
        failed = 0
    if failed <= 0:
        return None
    messages = [redact(str(m.get("message", m) if isinstance(m, Mapping) else m))
                for m in data.get("messages") or []]
    detail = "; ".join(messages) or "no messages"
    return RejectedError(f"{failed} of {data.get('count', '?')} failed: {detail}",
                         vendor_code="failCount")
