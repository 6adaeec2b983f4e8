"""Serving a vendor sandbox (any ASGI app) on loopback, for demos and tests."""

from __future__ import annotations

import asyncio
import contextlib
import functools
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
            _request_exit(server)
            thread.join(_GRACEFUL_SHUTDOWN_SECONDS + 3)
            if thread.is_alive():
                server.force_exit = True
                thread.join(5)
    finally:
        sock.close()


def _server(app: ASGIApp, lifespan: Literal["on", "off"]) -> Server:
    """A quiet uvicorn server for `app` (no access log, the process's logging left alone)."""
    import uvicorn

    return _prompt_server_class()(uvicorn.Config(
        app,
        log_config=None,  # leave the process's logging configuration alone
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        ws="none",
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
    ))


def _request_exit(server: Server) -> None:
    """Ask `server` (running in another thread) to stop, and wake it to do so now."""
    server.should_exit = True
    wake = getattr(server, "wake", None)
    if wake is not None:
        wake()


@functools.cache
def _prompt_server_class() -> type[Server]:
    import uvicorn

    class PromptServer(uvicorn.Server):
        """uvicorn's server, stopping as soon as it is asked to.

        uvicorn looks at `should_exit` every 0.1 s, then sleeps a fixed 0.1 s for its
        connections to close. Tests start and stop a sandbox each, thousands in a suite: this
        one wakes on an event, and waits for connections only while some are still open.
        """

        _loop: asyncio.AbstractEventLoop | None = None
        _woken: asyncio.Event | None = None

        async def main_loop(self) -> None:
            self._loop, self._woken = asyncio.get_running_loop(), asyncio.Event()
            counter = 0
            while not await self.on_tick(counter):
                counter = (counter + 1) % 864000
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), 0.1)  # uvicorn's tick

        def wake(self) -> None:
            if self._loop is not None and self._woken is not None:
                with contextlib.suppress(RuntimeError):  # its loop has closed already
                    self._loop.call_soon_threadsafe(self._woken.set)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # uvicorn.Server.shutdown (0.55) without its unconditional sleep(0.1).
            for server in self.servers:
                server.close()
            for sock in sockets or []:
                sock.close()
            for connection in list(self.server_state.connections):
                connection.shutdown()
            deadline = time.monotonic() + 0.1
            while self.server_state.connections and time.monotonic() < deadline:
                await asyncio.sleep(_POLL_SECONDS)
            try:
                async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                    await self._wait_tasks_to_complete()
            except TimeoutError:
                for task in self.server_state.tasks:
                    task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
            if not self.force_exit:
                await self.lifespan.shutdown()

    return PromptServer


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
