"""What the outbox's chaos tests share: real `hub outbox dispatch` processes, killed mid-run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.runtime import Hub
from hub.store.models import OutboxMessage

ROOT = Path(__file__).resolve().parents[3]
KillTwice = Callable[..., None]


def _done(hub: Hub) -> int:
    with hub.sessions() as session:
        return session.scalar(select(func.count()).where(OutboxMessage.status == "done")) or 0


def _dispatcher(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())", "outbox", "dispatch",
         "--concurrency", "8", "--lease", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _dispatch_through_kills(hub: Hub, env: dict[str, str], stop_at: Sequence[int], *,
                            timeout: float) -> None:
    """A dispatcher SIGKILLed once `stop_at[i]` rows are done, for each i; then one that
    finishes (within `timeout` seconds each)."""
    for done in stop_at:
        process = _dispatcher(env)
        deadline = time.monotonic() + timeout
        while _done(hub) < done and process.poll() is None:
            assert time.monotonic() < deadline, "the dispatcher made no progress"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        _, stderr = process.communicate()
        assert process.returncode == -signal.SIGKILL, stderr.decode()
    final = _dispatcher(env)
    _, stderr = final.communicate(timeout=2 * timeout)
    assert final.returncode == 0, stderr.decode()


@pytest.fixture
def dispatch_through_kills() -> KillTwice:
    """`dispatch_through_kills(hub, env, [n1, n2], timeout=300)`: see _dispatch_through_kills."""
    return _dispatch_through_kills
