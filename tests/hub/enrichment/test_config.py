"""The enrich job's timings: durations in seconds or text (90s, 15m, 500ms), validated."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from hub.config import EnrichJob

BASE = {"kind": "enrich", "connection": "crm", "mapping": "crm_customer"}


def test_enrich_job__defaults() -> None:
    job = EnrichJob.model_validate(BASE)
    assert (job.cache_ttl, job.source_timeout, job.inline_wait) == (900.0, 5.0, 3.0)
    assert (job.retry.attempts, job.retry.backoff_initial, job.concurrency) == (8, 30.0, 8)


@pytest.mark.parametrize(("field", "value", "seconds"), [
    ("cache_ttl", "15m", 900.0),
    ("cache_ttl", "1h30m", 5400.0),
    ("cache_ttl", 0, 0.0),
    ("cache_ttl", "0s", 0.0),
    ("source_timeout", "5s", 5.0),
    ("source_timeout", 2.5, 2.5),
    ("source_timeout", "500ms", 0.5),
    ("inline_wait", "0", 0.0),
    ("inline_wait", "1500ms", 1.5),
])
def test_enrich_job__valid_durations(field: str, value: Any, seconds: float) -> None:
    assert getattr(EnrichJob.model_validate({**BASE, field: value}), field) == seconds


@pytest.mark.parametrize(("field", "value", "message"), [
    ("cache_ttl", "soon", "'soon' is not a duration"),
    ("cache_ttl", "15 minutes", "is not a duration"),
    ("cache_ttl", "-1s", "is not a duration"),
    ("cache_ttl", "8d", "less than or equal to 604800"),
    ("cache_ttl", True, "is a number of seconds"),
    ("source_timeout", "0s", "more than zero"),
    ("source_timeout", "2h", "less than or equal to 600"),
    ("inline_wait", "2m", "less than or equal to 60"),
    ("retry", {"attempts": 0}, "greater than or equal to 1"),
    ("timeout_source", "5s", "Extra inputs are not permitted"),
])
def test_enrich_job__invalid_settings(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EnrichJob.model_validate({**BASE, field: value})
