"""Fault injection around any sandbox: an ASGI middleware that misbehaves on purpose.

    faults = FaultInjector(create_app(), seed=1)
    with serve(faults) as url:
        faults.fail_next(2, status=503)                  # the next two requests get 503
        faults.fail_next(1, status=429, retry_after="1")  # then one 429 with Retry-After
        faults.drop_next()        # close the connection without a response
        faults.lose_next()        # let the app process the request, then drop the response
        faults.error_rate(0.2)    # 20 % of requests get 503, from a seeded RNG
        faults.latency(0.05)      # every request waits 50 ms first
        faults.rate_limit(10)     # beyond 10 requests a second: 429 with Retry-After
        faults.chaos(error=0.1, timeout=0.05, lose=0.05, hang=3.0)  # seeded mix per request
        faults.requests()         # what each request met, in order of arrival

The same controls are HTTP routes under `/_faults` (see `_fault_routes.py`), so a sandbox
served in another process can be driven too.
"""

from __future__ import annotations

import asyncio
import math
import random
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._fault_routes import handle_control, send_json
from ._fault_types import LoggedRequest, Outcome, QueuedFault

__all__ = ["DroppedConnectionError", "FaultInjector", "LoggedRequest"]

_Log = Callable[[int | None, Outcome, str | None], None]
_DISCONNECT_WAIT_SECONDS = 5.0


class DroppedConnectionError(RuntimeError):
    """Raised inside the app when a drop was asked for but the server's socket is unreachable.

    The drop closes the TCP connection under the server's feet, which needs uvicorn as served
    by `connectors.sdk.sandbox.serve` with the FaultInjector as the outermost app.
    """


class FaultInjector:
    """Wraps an ASGI app; each request may be delayed, refused, dropped or lost on purpose.

    Faults queued with `fail_next` / `drop_next` / `lose_next` act in the order they were
    queued, each on the next requests it applies to. Control routes under `control_path` are
    never faulted nor logged. Safe to drive from the test's thread while the server runs in
    its own.

    Args:
        app: the sandbox to wrap.
        seed: seeds the RNG behind `error_rate`, so a run is repeatable.
        control_path: where the HTTP control routes live.
    """

    def __init__(self, app: ASGIApp, *, seed: int = 0, control_path: str = "/_faults") -> None:
        self.app = app
        self.control_path = control_path.rstrip("/")
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._queue: list[QueuedFault] = []
        self._log: list[LoggedRequest] = []
        self._latency = 0.0
        self._error_rate: tuple[float, int] | None = None
        self._rate_limit: tuple[int, float] | None = None
        self._chaos: _Chaos | None = None
        self._accepted: deque[float] = deque()

    # -- controls -------------------------------------------------------------------------

    def fail_next(
        self, count: int = 1, *, status: int = 503, retry_after: str | float | None = None,
        body: Any = None, path_prefix: str = "", method: str | None = None,
    ) -> None:
        """Answer the next `count` matching requests with `status` (and Retry-After).

        `body` replaces the default JSON error body, e.g. a vendor's `{"errcode": 42001}` with
        status 200 for APIs that report errors inside a 200.
        """
        if not 200 <= status <= 599:
            raise ValueError(f"status must be between 200 and 599, not {status}")
        shown = None if retry_after is None else _retry_after_text(retry_after)
        self._enqueue(QueuedFault("status", count, status, shown, body, path_prefix, method))

    def drop_next(
        self, count: int = 1, *, path_prefix: str = "", method: str | None = None,
        reset: bool = True,
    ) -> None:
        """Close the connection of the next `count` matching requests before the app sees them.

        `reset=True` sends a TCP reset (the client reads "connection reset by peer");
        `reset=False` closes politely (the client reads "server disconnected").
        """
        self._enqueue(
            QueuedFault("drop", count, path_prefix=path_prefix, method=method, reset=reset))

    def lose_next(
        self, count: int = 1, *, path_prefix: str = "", method: str | None = None,
        reset: bool = True,
    ) -> None:
        """Let the app process the next `count` matching requests, then drop their responses.

        The write happened but the client cannot know: the case of "outcome unknown".
        """
        self._enqueue(
            QueuedFault("lose", count, path_prefix=path_prefix, method=method, reset=reset))

    def latency(self, seconds: float) -> None:
        """Delay every request by `seconds` before anything else happens to it (0: off)."""
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        with self._lock:
            self._latency = float(seconds)

    def error_rate(
        self, probability: float, *, status: int = 503, seed: int | None = None
    ) -> None:
        """Answer each request with `status` with `probability` (0: off), from a seeded RNG."""
        if not 0 <= probability <= 1:
            raise ValueError("probability must be between 0 and 1")
        with self._lock:
            if seed is not None:
                self._rng.seed(seed)
            self._error_rate = (probability, status) if probability else None

    def chaos(
        self, *, error: float = 0.0, timeout: float = 0.0, lose: float = 0.0,
        hang: float = 5.0, status: int = 500, path_prefix: str = "", seed: int | None = None,
        drop: float = 0.0,
    ) -> None:
        """A seeded mix of failures, each request meeting at most one (all 0: off).

        - `error`: answered `status` before the app sees it (nothing happened);
        - `timeout`: held `hang` seconds, then passed to the app: a client that gave up
          earlier never learns that the request still took effect, late;
        - `lose`: processed by the app, then the connection is dropped (outcome unknown);
        - `drop`: the connection is dropped before the app sees it (nothing happened, but
          the client cannot tell it from `lose`).
        """
        rates = (("error", error), ("timeout", timeout), ("lose", lose), ("drop", drop))
        for name, value in rates:
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if error + timeout + lose + drop > 1:
            raise ValueError("error + timeout + lose + drop must not exceed 1")
        with self._lock:
            if seed is not None:
                self._rng.seed(seed)
            active = error or timeout or lose or drop
            self._chaos = _Chaos(error, timeout, lose, hang, status, path_prefix, drop) \
                if active else None

    def rate_limit(self, limit: int | None, *, per: float = 1.0) -> None:
        """Accept at most `limit` requests in any `per` seconds; answer the rest 429.

        The 429 carries Retry-After: the whole seconds until a slot frees up. None: off.
        """
        if limit is not None and (limit < 1 or per <= 0):
            raise ValueError("limit must be >= 1 and per > 0")
        with self._lock:
            self._rate_limit = None if limit is None else (limit, float(per))
            self._accepted.clear()

    def reset(self) -> None:
        """Remove every fault, latency, error rate and rate limit (the log stays)."""
        with self._lock:
            self._queue.clear()
            self._latency = 0.0
            self._error_rate = None
            self._rate_limit = None
            self._chaos = None
            self._accepted.clear()

    def requests(self) -> list[LoggedRequest]:
        """A copy of the request log, in order of arrival."""
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def state(self) -> dict[str, Any]:
        """The active faults, as the `GET /_faults` route shows them."""
        with self._lock:
            return {
                "queued": [
                    {"action": q.action, "remaining": q.remaining, "status": q.status,
                     "retry_after": q.retry_after, "path_prefix": q.path_prefix,
                     "method": q.method}
                    for q in self._queue
                ],
                "latency": self._latency,
                "error_rate": None if self._error_rate is None else {
                    "probability": self._error_rate[0], "status": self._error_rate[1]},
                "rate_limit": None if self._rate_limit is None else {
                    "limit": self._rate_limit[0], "per": self._rate_limit[1]},
                "chaos": None if self._chaos is None else self._chaos.describe(),
            }

    def _enqueue(self, fault: QueuedFault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be >= 1")
        if fault.method is not None:
            fault.method = fault.method.upper()
        with self._lock:
            self._queue.append(fault)

    # -- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path == self.control_path or path.startswith(self.control_path + "/"):
            await handle_control(self, scope, receive, send)
            return
        method: str = scope["method"]
        arrived = time.monotonic()
        delay, fault, retry_after_rl = self._decide(method, path, arrived)
        query = _query(scope)

        def log(status: int | None, outcome: Outcome, what: str | None) -> None:
            entry = LoggedRequest(method, path, query, status, outcome, what, arrived, delay)
            with self._lock:
                self._log.append(entry)

        if delay:
            await asyncio.sleep(delay)
        if retry_after_rl is not None:
            log(429, "injected", "rate limit")
            await _error_response(send, 429, retry_after_rl, None)
        elif fault is None:
            await self._pass(scope, receive, send, log)
        elif fault.action == "status":
            log(fault.status, "injected", fault.describe())
            await _error_response(send, fault.status, fault.retry_after, fault.body)
        elif fault.action == "drop":
            log(None, "dropped", "drop")
            await _drop(send, receive, reset=fault.reset)
        elif fault.action == "hang":
            held = await _buffered(receive)  # the server has the request; it acts late
            await asyncio.sleep(fault.hang)
            await self._pass(scope, held, send, log, label=fault.describe())
        else:
            await self._lose(scope, receive, send, log, reset=fault.reset,
                             label=fault.describe())

    def _decide(
        self, method: str, path: str, now: float
    ) -> tuple[float, QueuedFault | None, str | None]:
        """Under the lock: (latency, the fault that acts, a rate limit's Retry-After)."""
        with self._lock:
            if self._rate_limit is not None:
                limit, per = self._rate_limit
                while self._accepted and self._accepted[0] <= now - per:
                    self._accepted.popleft()
                if len(self._accepted) >= limit:
                    wait = self._accepted[0] + per - now
                    return self._latency, None, str(max(1, math.ceil(wait)))
                self._accepted.append(now)
            for queued in self._queue:
                if queued.applies(method, path):
                    queued.remaining -= 1
                    if queued.remaining <= 0:
                        self._queue.remove(queued)
                    return self._latency, queued, None
            if self._error_rate is not None and self._rng.random() < self._error_rate[0]:
                return self._latency, QueuedFault(
                    "status", 1, self._error_rate[1], label="error rate"), None
            if self._chaos is not None and path.startswith(self._chaos.path_prefix):
                return self._chaos.pick(self._rng.random(), self._latency)
            return self._latency, None, None

    async def _pass(
        self, scope: Scope, receive: Receive, send: Send, log: _Log, *,
        label: str | None = None,
    ) -> None:
        started = False

        async def logging_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start" and not started:
                started = True
                log(message["status"], "passed", label)  # logged before the client can see it
            try:
                await send(message)
            except OSError:  # the client gave up on a held request; the work is done
                if label is None:
                    raise

        try:
            await self.app(scope, receive, logging_send)
        except Exception:
            if not started:
                log(500, "passed", label)
            raise

    async def _lose(
        self, scope: Scope, receive: Receive, send: Send, log: _Log, *, reset: bool,
        label: str = "lose",
    ) -> None:
        status: int | None = None

        async def swallow(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        try:
            await self.app(scope, receive, swallow)
        finally:
            log(status, "lost", label)
        await _drop(send, receive, reset=reset)


@dataclass(frozen=True, slots=True)
class _Chaos:
    error: float
    timeout: float
    lose: float
    hang: float
    status: int
    path_prefix: str
    drop: float = 0.0

    def pick(self, draw: float, latency: float) -> tuple[float, QueuedFault | None, None]:
        if draw < self.error:
            return latency, QueuedFault("status", 1, self.status, label="chaos error"), None
        if draw < self.error + self.timeout:
            return latency, QueuedFault("hang", 1, hang=self.hang, label="chaos timeout"), None
        if draw < self.error + self.timeout + self.lose:
            return latency, QueuedFault("lose", 1, label="chaos lose"), None
        if draw < self.error + self.timeout + self.lose + self.drop:
            return latency, QueuedFault("drop", 1, label="chaos drop"), None
        return latency, None, None

    def describe(self) -> dict[str, Any]:
        return {"error": self.error, "timeout": self.timeout, "lose": self.lose,
                "drop": self.drop, "hang": self.hang, "status": self.status,
                "path_prefix": self.path_prefix}


async def _buffered(receive: Receive) -> Receive:
    """Read the whole request body now; replay it, then report the client gone."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    return replay


def _retry_after_text(value: str | float) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


def _query(scope: Scope) -> dict[str, str]:
    raw = scope.get("query_string", b"").decode("latin-1")
    return dict(parse_qsl(raw, keep_blank_values=True))


async def _error_response(send: Send, status: int, retry_after: str | None, body: Any) -> None:
    if body is None:
        if status == 429:
            body = {"error": {"code": "rate_limited", "message": "too many requests (injected)"}}
        else:
            body = {"error": {"code": "unavailable",
                              "message": f"injected fault: HTTP {status}"}}
    await send_json(send, status, body, retry_after=retry_after)


async def _drop(send: Send, receive: Receive, *, reset: bool) -> None:
    """Close the client's TCP connection without a response, under uvicorn's feet.

    ASGI has no message for "abort", so this reaches uvicorn's transport through its `send`
    (a bound method of the request cycle), aborts it (with SO_LINGER 0 a reset, otherwise a
    FIN), then waits for uvicorn to notice the disconnect so it neither logs nor answers 500.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        raise DroppedConnectionError(
            "cannot drop the connection: serve the FaultInjector with "
            "connectors.sdk.sandbox.serve as the outermost app"
        )
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    try:
        async with asyncio.timeout(_DISCONNECT_WAIT_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:  # pragma: no cover - uvicorn always reports the disconnect
        pass

