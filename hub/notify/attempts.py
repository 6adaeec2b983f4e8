"""What one attempt of a queued delivery did, judged by what the vendor can have done.

=====================  ==========================================  ==========================
outcome                when                                        next
=====================  ==========================================  ==========================
accepted / delivered   the vendor took it (DingTalk notices are    follow the result up /
                       accepted, then asked for their result)      done
refused_recipients     every recipient unknown or invalid          dead letter
never_sent             the request never left (connection          sent again (after the
                       refused, token fetch failed or throttled,   token cap's or the
                       the token cap spent)                        vendor's wait, if any)
refused                the vendor answered 5xx or "busy" (ASSUMED  sent again
                       not applied: DingTalk and WeCom answer
                       their errors inside HTTP 200)
throttled              a rate-limit code (90018, 660026, 45009…)   sent again after the
                                                                   vendor's documented wait
maybe_delivered        the answer was lost after the request left  sent again only where the
                                                                   vendor drops the copy, or
                                                                   the rule is at_least_once;
                                                                   else `unknown`
permanent              a refusal that will not pass (bad robot     dead letter
                       signature or keyword, unknown robot, bad
                       secret, invalid parameter, no connection)
=====================  ==========================================  ==========================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.sdk import (
    ConnectorError,
    OutcomeUnknownError,
    QuotaExceededError,
    RateLimitedError,
    TransientError,
)
from hub.errors import HubError

__all__ = ["RETRIED", "Verdict", "judge_error"]

RETRIED = frozenset({"never_sent", "refused", "throttled"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """How an attempt that raised ended, and whether another may follow."""

    outcome: str  # never_sent, refused, throttled, maybe_delivered, permanent
    kind: str  # the error's kind (transient, rate_limited, auth, rejected, …)
    message: str  # secret-free
    wait: float | None = None  # the vendor's documented wait before the next attempt


def judge_error(error: BaseException, *, redact: Callable[[str], str]) -> Verdict:
    """The verdict on an attempt that raised `error`."""
    message = redact(str(error))
    if isinstance(error, QuotaExceededError):  # the token cap: the message never left
        return Verdict("never_sent", error.kind, message, error.retry_after)
    if isinstance(error, RateLimitedError) and error.operation == "token":
        return Verdict("never_sent", error.kind, message, error.retry_after)
    if isinstance(error, RateLimitedError):
        return Verdict("throttled", error.kind, message, error.retry_after)
    if isinstance(error, TransientError):
        if error.never_sent or error.operation == "token":
            return Verdict("never_sent", error.kind, message)
        if error.status is not None or error.vendor_code is not None:
            return Verdict("refused", error.kind, message)
        return Verdict("maybe_delivered", error.kind, message)  # a retried read or dedupe
    if isinstance(error, OutcomeUnknownError):
        return Verdict("maybe_delivered", error.kind, message)
    if isinstance(error, ConnectorError):
        return Verdict("permanent", error.kind, message)
    if isinstance(error, HubError):
        return Verdict("permanent", "config", message)
    return Verdict("refused", "internal", f"{type(error).__name__}: {message}")

