"""Repeated audit events (API denials) aggregated per window, so a flood of them cannot
queue every writer behind the chain's head lock, while every one is still counted.

The first event of a kind in a window is written as it happens; the ones after it are
counted in memory, and one summary row (`<action>.repeats`, with `count`) is written when
the window closes, or at the next event of any kind after that.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace

from hub.audit.chain import AuditEntry

__all__ = ["AuditThrottle"]

_OVERFLOW = ("…",)  # every kind beyond max_kinds shares one window


@dataclass(slots=True)
class _Window:
    opened: float
    first: AuditEntry
    group: str
    client: str
    repeats: int = 0


class AuditThrottle:
    """Per-kind windows of `window_seconds`; at most `max_kinds` open at once."""

    def __init__(self, *, window_seconds: float, max_kinds: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window_seconds = window_seconds
        self.max_kinds = max_kinds
        self._clock = clock
        self._windows: OrderedDict[Hashable, _Window] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, kind: Hashable, entry: AuditEntry, *, group: str,
              client: str) -> list[AuditEntry]:
        """The entries to write now: `entry` if it opens a window, and closed windows' counts.

        `group` names what the window covers (e.g. `GET /tickets/*`), `client` who sent it.
        """
        if self.window_seconds <= 0:
            return [entry]
        with self._lock:
            now = self._clock()
            due = self._close(lambda w: now - w.opened >= self.window_seconds)
            first = entry
            if kind not in self._windows and len(self._windows) >= self.max_kinds:
                kind, group, client = _OVERFLOW, "*", "*"
                first = replace(entry, actor="*", detail={"reason": "of many kinds"})
            window = self._windows.get(kind)
            if window is None:
                self._windows[kind] = _Window(now, first, group, client)
                return [*due, entry]
            window.repeats += 1
            return due

    def flush(self, *, everything: bool = False) -> list[AuditEntry]:
        """Counts of the windows that closed (of every window, when `everything`)."""
        with self._lock:
            now = self._clock()
            return self._close(lambda w: everything or now - w.opened >= self.window_seconds)

    def pending(self) -> bool:
        """Whether a window holds repeats not written yet."""
        with self._lock:
            return any(window.repeats for window in self._windows.values())

    def _close(self, closes: Callable[[_Window], bool]) -> list[AuditEntry]:
        # Windows open in time order, so the closed ones are at the front.
        summaries = []
        while self._windows:
            kind, window = next(iter(self._windows.items()))
            if not closes(window):
                break
            del self._windows[kind]
            if window.repeats:
                summaries.append(self._summary(window))
        return summaries

    def _summary(self, window: _Window) -> AuditEntry:
        first = window.first
        detail = {**first.detail, "count": window.repeats, "client": window.client,
                  "window_seconds": self.window_seconds}
        return replace(first, action=f"{first.action}.repeats", target=window.group,
                       detail=detail)
