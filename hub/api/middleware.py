"""Request size limits, CORS and `Idempotency-Key` handling, as pure ASGI (cheap per request).

Idempotency needs the caller, who is only known once the route admitted it, and
the answer, only known once the endpoint ran. So it is split in two halves that share a
`_Claim` through `scope["state"]`:
- `IdempotencyMiddleware` hashes the body of a keyed POST, then captures the answer and
  stores it with the claimed key (hub.store.idempotency; or releases the claim on a 5xx / crash);
- `idempotent`, which runs after authentication (admission.py), claims the key for the
  caller, or refuses (409 still running, 422 another request), or replays the stored answer.
Every protected route runs it once its caller is admitted (admission.py).
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.runtime import Hub
from hub.store.idempotency import StoredAnswer, claim_key, release_key, store_answer

from .errors import problem_response

__all__ = ["KEY_PATTERN", "BodySizeLimit", "IdempotencyMiddleware", "idempotent",
           "install_middleware"]

MAX_KEY_LENGTH = 200
# Visible ASCII, 1 to 200 characters: what the OpenAPI document declares (docs.py).
KEY_PATTERN = f"^[!-~]{{1,{MAX_KEY_LENGTH}}}$"
_KEY = re.compile(KEY_PATTERN)
_SPOOL_IN_MEMORY = 1024 * 1024
_CHUNK = 64 * 1024
# Not replayed: they describe the first transfer, not the answer.
_TRANSIENT_HEADERS = frozenset({"content-length", "date", "server", "transfer-encoding",
                                "connection", "set-cookie"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class _TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the limit of {limit} bytes")


class BodySizeLimit:
    """413 for a body over `max_request_bytes` (`import_max_bytes` for `POST /imports`):
    at once from Content-Length, or as a chunked body streams past the limit."""

    def __init__(self, app: ASGIApp, *, hub: Hub) -> None:
        self.app, self.hub = app, hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self.hub.settings
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") == "/imports"
        limit = settings.import_max_bytes if upload else settings.max_request_bytes
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _refuse(scope, receive, send, _TooLarge(limit))
            return
        if length is not None or _header(scope, b"transfer-encoding") is None:
            # The server holds a declared length to its word, and without one nor chunking
            # there is no body: only a chunked body needs counting.
            await self.app(scope, receive, send)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge as exc:  # raised where no handler turned it into a response
            if started:
                raise
            await _refuse(scope, receive, send, exc)


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: HTTPException) -> None:
    response = problem_response(exc.status_code, "request-too-large", str(exc.detail),
                                instance=scope["path"], headers={"Connection": "close"})
    await response(scope, receive, send)


@dataclass
class _Claim:
    """A keyed POST in flight: its key and request hash; the caller once claimed."""

    key: str
    request_hash: str
    principal: str | None = None


class _Replay(Exception):  # noqa: N818 -- a signal, not an error
    def __init__(self, answer: StoredAnswer) -> None:
        super().__init__("replay")
        self.answer = answer


async def idempotent(request: Request) -> None:
    """Claim the request's `Idempotency-Key` for its caller, or answer for the first request.

    A no-op (and no thread hop) without a key, or outside the keyed POSTs the middleware
    marked."""
    claim = request.scope.get("state", {}).get("idempotency")
    if not isinstance(claim, _Claim) or claim.principal is not None:
        return
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return
    hub: Hub = request.app.state.hub
    await anyio.to_thread.run_sync(_claim, hub, claim, str(principal.subject)[:200],
                                   request.method, request.url.path[:500])


def _claim(hub: Hub, claim: _Claim, subject: str, method: str, path: str) -> None:
    answer = claim_key(hub.sessions, principal=subject, key=claim.key,
                       request_hash=claim.request_hash, method=method, path=path,
                       ttl=timedelta(hours=hub.settings.idempotency_ttl_hours))
    if answer is not None:
        raise _Replay(answer)
    claim.principal = subject


def _replay(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Replay)
    answer = exc.answer
    return Response(answer.body.encode(), status_code=answer.status_code,
                    headers={**answer.headers, "Idempotent-Replayed": "true"})


def _store(hub: Hub, claim: _Claim, status: int, headers: dict[str, str], body: str) -> None:
    assert claim.principal is not None
    store_answer(hub.sessions, principal=claim.principal, key=claim.key, status_code=status,
                 headers=headers, body=body)


def _release(hub: Hub, claim: _Claim) -> None:
    assert claim.principal is not None
    release_key(hub.sessions, principal=claim.principal, key=claim.key)


class _SpooledBody:
    """`receive` for the app: the buffered body again, then the client's own messages."""

    def __init__(self, spool: Any, size: int, receive: Receive) -> None:
        self.spool, self.size, self.receive, self.sent = spool, size, receive, False

    async def __call__(self) -> Message:
        if self.sent:
            return await self.receive()
        chunk = self.spool.read(_CHUNK)
        self.sent = self.spool.tell() >= self.size
        return {"type": "http.request", "body": chunk, "more_body": not self.sent}


class IdempotencyMiddleware:
    """The transport half of `Idempotency-Key` (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, hub: Hub) -> None:
        self.app, self.hub = app, hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, b"idempotency-key") if scope["type"] == "http" and \
            scope["method"] == "POST" else None
        if key is None or scope["path"].startswith("/webhooks"):
            await self.app(scope, receive, send)
            return
        if not _KEY.match(key):
            response = problem_response(422, "invalid-request", "Idempotency-Key must be 1 to "
                                        f"{MAX_KEY_LENGTH} visible ASCII characters",
                                        instance=scope["path"])
            await response(scope, receive, send)
            return
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
            digest = hashlib.sha256(f"{scope['method']} {scope['path']}?"
                                    f"{scope.get('query_string', b'').decode()}\n".encode())
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away before sending its body
                chunk = message.get("body", b"")
                digest.update(chunk)
                spool.write(chunk)
                if not message.get("more_body", False):
                    break
            size = spool.tell()
            spool.seek(0)
            claim = _Claim(key=key, request_hash=digest.hexdigest())
            scope.setdefault("state", {})["idempotency"] = claim

            await self._run(scope, _SpooledBody(spool, size, receive), send, claim)

    async def _run(self, scope: Scope, receive: Receive, send: Send, claim: _Claim) -> None:
        start: Message | None = None
        chunks: list[bytes] = []
        finished = False

        async def capture(message: Message) -> None:
            nonlocal start, finished
            if message["type"] == "http.response.start" and claim.principal is not None:
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            finished = True
            await self._finish(claim, start, b"".join(chunks))
            await send(start)
            await send({"type": "http.response.body", "body": b"".join(chunks)})

        try:
            await self.app(scope, receive, capture)
        finally:
            if claim.principal is not None and not finished:
                await anyio.to_thread.run_sync(_release, self.hub, claim)

    async def _finish(self, claim: _Claim, start: Message, body: bytes) -> None:
        status: int = start["status"]
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if status >= 500 or text is None:  # a retry should run again, not replay a failure
            await anyio.to_thread.run_sync(_release, self.hub, claim)
            return
        headers: dict[str, Any] = {}
        for name, value in start.get("headers", []):
            lowered = name.decode("latin-1").lower()
            if lowered not in _TRANSIENT_HEADERS:
                headers[lowered] = value.decode("latin-1")
        await anyio.to_thread.run_sync(_store, self.hub, claim, status, headers, text)


def install_middleware(app: FastAPI, hub: Hub) -> None:
    """Added innermost first: idempotency, then the size limit, then CORS outermost (so
    even a 413 carries CORS headers a browser can read)."""
    app.add_exception_handler(_Replay, _replay)
    app.add_middleware(IdempotencyMiddleware, hub=hub)
    app.add_middleware(BodySizeLimit, hub=hub)
    if hub.settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=hub.settings.cors_origins,
                           allow_methods=["*"], allow_headers=["*"],
                           expose_headers=["ETag", "Location", "Idempotent-Replayed"])
