"""RetrySpec.delay: the one backoff of pulls, enrichment and the outbox."""

from __future__ import annotations

import pytest

from hub.config.jobs import RetrySpec


@pytest.mark.parametrize(("attempt", "expected"), [
    (1, 2.0), (2, 4.0), (3, 8.0), (9, 512.0), (10, 600.0), (1000, 600.0), (5000, 600.0),
])
def test_delay__doubles_from_the_initial_wait_up_to_the_cap(attempt: int,
                                                            expected: float) -> None:
    spec = RetrySpec(attempts=10, backoff_initial=2.0, backoff_max=600.0)

    assert spec.delay(attempt) == expected


def test_delay__with_jitter_waits_half_to_all_of_the_step() -> None:
    spec = RetrySpec(backoff_initial=30.0, backoff_max=1800.0)

    waits = [spec.delay(3, jitter=True) for _ in range(200)]

    assert all(60.0 <= wait <= 120.0 for wait in waits)
    assert len(set(waits)) > 1
