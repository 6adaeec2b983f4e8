"""How an attempt that raised is judged: what the vendor can have done decides what follows
(hub/notify/attempts.py), table-driven over the connectors' own error types."""

from __future__ import annotations

import pytest

from connectors.sdk import (
    AuthError,
    ConfigError,
    OutcomeUnknownError,
    QuotaExceededError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from hub.errors import HubError
from hub.notify.attempts import RETRIED, judge_error


@pytest.mark.parametrize(("error", "outcome", "wait"), [
    (TransientError("could not connect", never_sent=True), "never_sent", None),
    (TransientError("token endpoint failed", operation="token", status=502), "never_sent",
     None),
    (TransientError("bad gateway", status=502), "refused", None),
    (TransientError("system busy", vendor_code="-1", never_sent=True), "never_sent", None),
    (TransientError("request failed (ReadError)"), "maybe_delivered", None),
    (OutcomeUnknownError("the response to a write was lost"), "maybe_delivered", None),
    (RateLimitedError("rate limited", retry_after=600.0, vendor_code="660026"), "throttled",
     600.0),
    (RateLimitedError("45009", retry_after=60.0, vendor_code="45009"), "throttled", 60.0),
    # The token fetch was throttled or refused for the gettoken daily cap: the message
    # never left, and waits what the vendor (or the cap) asks.
    (RateLimitedError("gettoken 90018", operation="token", retry_after=1.0,
                      vendor_code="90018"), "never_sent", 1.0),
    (QuotaExceededError("token fetch not sent: cap", operation="token",
                        retry_after=3600.0), "never_sent", 3600.0),
    (AuthError("robot 'ops': DingTalk refused the signature", vendor_code="310000"),
     "permanent", None),
    (RejectedError("invalid parameter", vendor_code="400002"), "permanent", None),
    (ConfigError("no robot 'ops'"), "permanent", None),
    (HubError("no connection 'dingtalk'"), "permanent", None),
])
def test_judge_error__by_what_the_vendor_can_have_done(
    error: Exception, outcome: str, wait: float | None
) -> None:
    verdict = judge_error(error, redact=lambda text: text.replace("SECRET", "***"))
    assert (verdict.outcome, verdict.wait) == (outcome, wait)
    assert (verdict.outcome in RETRIED) == (outcome in ("never_sent", "refused", "throttled"))


def test_judge_error__redacts_the_message() -> None:
    verdict = judge_error(RejectedError("token SECRET refused"), redact=lambda t: t.replace(
        "SECRET", "***"))
    assert "SECRET" not in verdict.message and "***" in verdict.message
