"""connectors.sdk.sandbox.serve: a sandbox stops promptly, yet gracefully."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from connectors.sdk.sandbox import serve


def _slow_app(entered: threading.Event, release: threading.Event) -> FastAPI:
    app = FastAPI()

    @app.get("/slow")
    async def slow() -> dict[str, bool]:
        entered.set()
        await asyncio.to_thread(release.wait, 10)
        return {"finished": True}

    @app.get("/")
    async def root() -> dict[str, bool]:
        return {"ok": True}

    return app


def test_serve__a_request_in_flight_when_the_stop_is_asked_is_answered() -> None:
    entered, release = threading.Event(), threading.Event()
    answers: list[httpx.Response] = []
    with serve(_slow_app(entered, release)) as url:
        caller = threading.Thread(target=lambda: answers.append(httpx.get(f"{url}/slow")))
        caller.start()
        assert entered.wait(10)
        threading.Timer(0.2, release.set).start()  # released while the server is stopping
    caller.join(10)
    assert [a.json() for a in answers] == [{"finished": True}]


def test_serve__an_idle_keep_alive_connection_does_not_hold_the_server() -> None:
    client = httpx.Client()
    try:
        with serve(_slow_app(threading.Event(), threading.Event())) as url:
            assert client.get(url).json() == {"ok": True}  # the connection stays open
        with pytest.raises(httpx.TransportError):
            client.get(url)
    finally:
        client.close()


def test_serve__runs_the_apps_shutdown_when_lifespan_is_on() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    with serve(FastAPI(lifespan=lifespan), lifespan="on") as url:
        assert httpx.get(f"{url}/docs").status_code == 200
    assert events == ["startup", "shutdown"]


def test_serve__servers_started_and_stopped_one_after_another_each_answer() -> None:
    app = _slow_app(threading.Event(), threading.Event())
    for _ in range(5):
        with serve(app) as url:
            assert httpx.get(url).json() == {"ok": True}
