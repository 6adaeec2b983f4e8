"""The audit chain's status for the console: `AuditLog.verify` (what `hub audit verify` runs)
in a background thread of this process, one at a time per store, its last answer kept.

Verifying walks every row (about 2-5 s for 50,000 rows here): a page waits for it a moment
(`wait_s`) and otherwise shows the last answer, saying a verification is under way. An answer
older than `max_age_s` starts a new one; `fresh` starts one at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hub.audit.chain import VerifyResult
from hub.runtime import Hub

__all__ = ["ChainStatus", "chain_status"]


@dataclass(frozen=True, slots=True)
class ChainStatus:
    """The last verification (None: none finished yet) and whether one is running."""

    result: VerifyResult | None
    verified_at: datetime | None
    running: bool


@dataclass
class _Checker:
    lock: threading.Lock = field(default_factory=threading.Lock)
    result: VerifyResult | None = None
    verified_at: datetime | None = None
    thread: threading.Thread | None = None

    def start(self, hub: Hub) -> threading.Thread:
        """A verification (the one under way, or a new one). Call with `lock` held."""
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._verify, args=(hub,),
                                           name="console-audit-verify", daemon=True)
            self.thread.start()
        return self.thread

    def _verify(self, hub: Hub) -> None:
        result = hub.audit.verify()
        with self.lock:
            self.result, self.verified_at = result, datetime.now(UTC)


_CHECKERS: dict[str, _Checker] = {}
_CHECKERS_LOCK = threading.Lock()


def chain_status(hub: Hub, *, fresh: bool = False, max_age_s: float = 60.0,
                 wait_s: float = 1.0) -> ChainStatus:
    """The chain's status: a new verification started if `fresh` or the last is older than
    `max_age_s` (or there is none), waited for at most `wait_s`."""
    with _CHECKERS_LOCK:
        checker = _CHECKERS.setdefault(hub.settings.database_url, _Checker())
    with checker.lock:
        stale = checker.verified_at is None or \
            (datetime.now(UTC) - checker.verified_at).total_seconds() > max_age_s
        running = checker.thread is not None and checker.thread.is_alive()
        thread = checker.start(hub) if fresh or stale or running else None
    if thread is not None:
        thread.join(wait_s)
    with checker.lock:
        alive = checker.thread is not None and checker.thread.is_alive()
        return ChainStatus(checker.result, checker.verified_at, alive)
