"""Serving a vendor sandbox (any ASGI app) on loopback, for demos and tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp
    from uvicorn import Server

__all__ = ["add_request_log_routes", "serve"]

_POLL_SECONDS = 0.01
_GRACEFUL_SHUTDOWN_SECONDS = 2


@contextmanager
def serve(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 10.0,
    lifespan: Literal["on", "off"] = "off",
) -> Iterator[str]:
    """Run `app` with uvicorn in a background thread on `port` (a free ephemeral one by
    default).

    The socket is bound here (port 0) and handed to uvicorn, so there is no window in which
    another process could take the port. Safe to call from any thread, and several servers can
    run at once: each gets its own thread and event loop.

    Args:
        app: The ASGI application to serve.
        host: The address to bind; loopback by default. An IPv6 address is accepted.
        port: The port to bind (0: a free ephemeral one); OSError when it is taken.
        startup_timeout: Seconds to wait for the server to accept connections.
        lifespan: "on" runs the app's start-up and shut-down events (the hub API needs them).

    Yields:
        The server's base URL, e.g. ``"http://127.0.0.1:54321"``.

    Raises:
        RuntimeError: The server did not start within `startup_timeout`, or failed to start.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted sockets only when it does, and
    # without it every response waits ~40 ms on Nagle's algorithm and delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if port:  # a fixed port is free again at once after the last server on it stopped
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen()
        port = sock.getsockname()[1]
        server = _server(app, lifespan)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # reported to the caller by _wait_started
                failure.append(exc)

        thread = threading.Thread(target=run, name=f"sandbox-{port}", daemon=True)
        thread.start()
        try:
            _wait_started(server, thread, failure, startup_timeout)
            url_host = f"[{host}]" if family == socket.AF_INET6 else host
            yield f"http://{url_host}:{port}"
        finally:
            server.should_exit = True
            thread.join(_GRACEFUL_SHUTDOWN_SECONDS + 3)
            if thread.is_alive():
                server.force_exit = True
                thread.join(5)
    finally:
        sock.close()


def _server(app: ASGIApp, lifespan: Literal["on", "off"]) -> Server:
    """A quiet uvicorn server for `app` (no access log, the process's logging left alone)."""
    import uvicorn

    return uvicorn.Server(uvicorn.Config(
        app,
        log_config=None,  # leave the process's logging configuration alone
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        ws="none",
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
    ))


def _wait_started(
    server: Server, thread: threading.Thread, failure: list[BaseException], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not server.started:
        if failure or not thread.is_alive():
            cause = failure[0] if failure else None
            raise RuntimeError("sandbox server failed to start") from cause
        if time.monotonic() > deadline:
            raise RuntimeError(f"sandbox server did not start within {timeout} s")
        time.sleep(_POLL_SECONDS)


def add_request_log_routes(app: FastAPI, log: list[dict[str, Any]]) -> None:
    """Serve a sandbox's request log: `GET /_sandbox/requests` reads it, `DELETE` clears it.

    Tests judge the client by what the vendor side saw — statuses, timing, retries — so every
    sandbox keeps such a log (entries are the sandbox's own dicts; never headers).
    """
    from fastapi import Response

    @app.get("/_sandbox/requests")
    async def read_requests() -> Response:
        body = json.dumps(list(log), ensure_ascii=False, separators=(",", ":"))
        return Response(body, media_type="application/json; charset=utf-8")

    @app.delete("/_sandbox/requests", status_code=204)
    async def clear_requests() -> None:
        log.clear()
