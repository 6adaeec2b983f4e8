"""What the FaultInjector logs and queues."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["LoggedRequest", "Outcome", "QueuedFault"]

Outcome = Literal["passed", "injected", "dropped", "lost"]


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request as the injector saw it.

    Attributes:
        method: the HTTP method.
        path: the URL path.
        query: the query parameters (the last value of a repeated name).
        status: the status the app or the injector answered with; None when dropped. For a
            lost response it is the app's status, which the client never saw.
        outcome: "passed" (the app answered), "injected" (the injector answered), "dropped"
            (closed before the app saw it) or "lost" (processed, then closed).
        fault: which fault acted ("status 503", "rate limit", "error rate", "drop", "lose").
        at: arrival, in seconds of `time.monotonic()` (subtract two to get a gap).
        delayed: the latency the injector added before answering, in seconds.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int | None
    outcome: Outcome
    fault: str | None
    at: float
    delayed: float = 0.0

    @property
    def result(self) -> int | str:
        """What the client got: the status, or "dropped" / "lost"."""
        if self.outcome in ("dropped", "lost") or self.status is None:
            return self.outcome
        return self.status

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"result": self.result}


@dataclass(slots=True)
class QueuedFault:
    action: Literal["status", "drop", "lose", "hang"]
    remaining: int
    status: int = 503
    retry_after: str | None = None
    body: Any = None
    path_prefix: str = ""
    method: str | None = None
    reset: bool = True
    label: str | None = None
    hang: float = 0.0

    def applies(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and self.method in (None, method)

    def describe(self) -> str:
        if self.label:
            return self.label
        return f"status {self.status}" if self.action == "status" else self.action
