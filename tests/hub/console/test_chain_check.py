"""The console's audit chain status: verified in the background, one at a time per store, the
last answer kept; a page waits a moment and otherwise says a verification is under way."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from hub.audit import AuditEntry
from hub.audit.chain import VerifyResult
from hub.console import chain_check
from hub.runtime import Hub


@pytest.fixture
def small_hub(make_hub: Any, tmp_path: Path) -> Any:
    chain_check._CHECKERS.clear()
    hub: Hub = make_hub(f"sqlite:///{tmp_path / 'hub.db'}")
    hub.audit.record([AuditEntry("test", "ticket.create", f"ticket:{n}") for n in range(3)])
    yield hub
    hub.close()
    chain_check._CHECKERS.clear()


def test_a_small_chain_is_verified_within_the_wait(small_hub: Hub) -> None:
    status = chain_check.chain_status(small_hub, wait_s=30)
    assert status.result is not None and status.result.ok and status.result.checked >= 3
    assert not status.running and status.verified_at is not None
    again = chain_check.chain_status(small_hub, wait_s=30)
    assert again.verified_at == status.verified_at  # reused: not a minute old
    fresh = chain_check.chain_status(small_hub, fresh=True, wait_s=30)
    assert fresh.verified_at is not None and fresh.verified_at > status.verified_at


def test_a_slow_verification_runs_once_in_the_background(small_hub: Hub,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    release, calls = threading.Event(), []

    def slow_verify() -> VerifyResult:
        calls.append(1)
        release.wait(30)
        return VerifyResult(ok=False, checked=2, problem="row 3: hash mismatch", seq=3)

    monkeypatch.setattr(small_hub.audit, "verify", slow_verify)
    first = chain_check.chain_status(small_hub, wait_s=0)
    second = chain_check.chain_status(small_hub, fresh=True, wait_s=0)
    assert (first.running, first.result, second.running, second.result) == (
        True, None, True, None)
    release.set()
    done = chain_check.chain_status(small_hub, wait_s=30)
    assert done.result is not None and (done.result.ok, done.result.seq) == (False, 3)
    assert not done.running and len(calls) == 1  # the second page joined the first's
