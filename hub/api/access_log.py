"""`hub serve --access-log`: one JSON line per request on stderr, with its request id.

Each request gets an id: the caller's `X-Request-Id` when it is a sane token (1-64 letters,
digits, `.`, `_`, `-`), else a fresh one. It is answered in `X-Request-Id`, carried by every
log record written while the request runs (`request_id`, JSON logs), and written on the
request's access line. Only the path is written, never the query string or a header, and
the line passes through the redactor. With tracing on (README, "Tracing") the line also
carries the request's trace id (`trace_id`, null when off).
"""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from hub.core.logs import log_context
from hub.core.tracing import current_trace_id

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from connectors.sdk.redaction import Redactor

__all__ = ["AccessLog"]

_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _request_id(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == b"x-request-id":
            given = str(value.decode("latin-1"))
            if _SANE_ID.fullmatch(given):
                return given
    return uuid.uuid4().hex


class AccessLog:
    """Pure ASGI middleware writing an access line for every HTTP request."""

    def __init__(self, app: ASGIApp, *, redactor: Redactor,
                 stream: TextIO | None = None) -> None:
        self.app, self.redactor, self.stream = app, redactor, stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        started, status, trace_id = time.perf_counter(), 500, None

        async def send_with_id(message: Message) -> None:
            nonlocal status, trace_id
            if message["type"] == "http.response.start":
                status, trace_id = message["status"], current_trace_id()
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode("ascii"))]
            await send(message)

        try:
            with log_context(request_id=request_id):
                await self.app(scope, receive, send_with_id)
        finally:
            self._write(scope, request_id, trace_id, status, time.perf_counter() - started)

    def _write(self, scope: Scope, request_id: str, trace_id: str | None, status: int,
               seconds: float) -> None:
        client = scope.get("client")
        line = json.dumps({
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": "access",
            "request_id": request_id, "trace_id": trace_id, "method": scope["method"],
            "path": self.redactor.text(scope["path"]), "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "client": client[0] if client else None,
        }, ensure_ascii=False)
        stream = self.stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()
