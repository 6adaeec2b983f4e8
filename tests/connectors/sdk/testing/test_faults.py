"""FaultInjector around a tiny app, served by uvicorn on loopback, seen by a real httpx client."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connectors.sdk import HttpClient, OutcomeUnknownError, RetryPolicy
from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector


@dataclass
class Counter:
    """A tiny ASGI app: counts the requests it processed and answers 200 (201 to POST)."""

    hits: list[str] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        while (await receive()).get("more_body"):
            pass
        self.hits.append(f"{scope['method']} {scope['path']}")
        status = 201 if scope["method"] == "POST" else 200
        body = json.dumps({"n": len(self.hits)}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


@dataclass
class Served:
    app: Counter
    faults: FaultInjector
    client: httpx.Client


@pytest.fixture
def served() -> Iterator[Served]:
    app = Counter()
    faults = FaultInjector(app, seed=3)
    with serve(faults) as url, httpx.Client(base_url=url) as client:
        yield Served(app, faults, client)


def results(faults: FaultInjector) -> list[int | str]:
    return [r.result for r in faults.requests()]


def test_fail_next__answers_the_status_count_times_then_passes(served: Served) -> None:
    served.faults.fail_next(2, status=503)
    statuses = [served.client.get("/items").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert served.app.hits == ["GET /items"]
    assert results(served.faults) == [503, 503, 200]
    assert [r.fault for r in served.faults.requests()] == ["status 503", "status 503", None]


def test_fail_next__429_carries_retry_after_and_an_error_body(served: Served) -> None:
    served.faults.fail_next(1, status=429, retry_after=7)
    response = served.client.get("/items")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "rate_limited"


def test_fail_next__custom_body_with_200_imitates_a_vendor_errcode(served: Served) -> None:
    served.faults.fail_next(1, status=200, body={"errcode": 42001, "errmsg": "token expired"})
    response = served.client.get("/items")
    assert (response.status_code, response.json()["errcode"]) == (200, 42001)
    assert served.app.hits == []


def test_fail_next__applies_only_to_matching_path_and_method(served: Served) -> None:
    served.faults.fail_next(1, status=500, path_prefix="/orders", method="post")
    assert served.client.get("/orders").status_code == 200
    assert served.client.post("/items").status_code == 201
    assert served.client.post("/orders/1").status_code == 500
    assert served.client.post("/orders/1").status_code == 201


@pytest.mark.parametrize(("reset", "error"), [
    (True, (httpx.ReadError, httpx.RemoteProtocolError)),
    (False, (httpx.RemoteProtocolError,)),
])
def test_drop_next__client_sees_the_connection_closed_without_a_response(
    served: Served, reset: bool, error: tuple[type[Exception], ...]
) -> None:
    served.faults.drop_next(1, reset=reset)
    with pytest.raises(error):
        served.client.get("/items")
    assert served.app.hits == []  # the app never saw it
    assert served.client.get("/items").status_code == 200  # the next request is served
    assert results(served.faults) == ["dropped", 200]


def test_drop_next__uvicorn_logs_no_error_and_sends_no_500(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    served.faults.drop_next(2)
    with caplog.at_level(logging.DEBUG):
        for _ in range(2):
            with pytest.raises(httpx.TransportError):
                served.client.get("/items")
        assert served.client.get("/items").status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_lose_next__the_app_processes_the_request_but_the_client_gets_no_answer(
    served: Served
) -> None:
    served.faults.lose_next(1, method="POST")
    with pytest.raises(httpx.TransportError):
        served.client.post("/refunds", json={"amount": 1})
    assert served.app.hits == ["POST /refunds"]
    [entry] = served.faults.requests()
    assert (entry.status, entry.outcome, entry.result) == (201, "lost", "lost")


async def test_lose_next__an_sdk_write_becomes_outcome_unknown_and_a_read_is_retried(
    served: Served
) -> None:
    url = str(served.client.base_url)
    http = HttpClient(base_url=url, connector="t", connection="t",
                      retry=RetryPolicy(attempts=3, backoff_initial=0.01))
    try:
        served.faults.lose_next(1, method="POST")
        with pytest.raises(OutcomeUnknownError):
            await http.send("POST", "/refunds", operation="refund.create", json={"a": 1})
        served.faults.drop_next(1, method="GET")
        response = await http.send("GET", "/items", operation="items.list")
    finally:
        await http.aclose()
    assert response.status_code == 200
    assert served.app.hits == ["POST /refunds", "GET /items"]  # the write happened once
    assert results(served.faults) == ["lost", "dropped", 200]


def test_error_rate__the_same_seed_gives_the_same_failures() -> None:
    runs = []
    for _ in range(2):
        faults = FaultInjector(Counter(), seed=11)
        faults.error_rate(0.3, status=502)
        with serve(faults) as url, httpx.Client(base_url=url) as client:
            runs.append([client.get("/x").status_code for _ in range(40)])
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 502}
    assert 4 <= runs[0].count(502) <= 24  # 30 % of 40, generously


def test_latency__delays_every_request(served: Served) -> None:
    served.faults.latency(0.2)
    assert served.client.get("/items").status_code == 200
    assert served.client.get("/items").status_code == 200
    assert [r.delayed for r in served.faults.requests()] == [0.2, 0.2]


def test_rate_limit__refuses_beyond_the_limit_with_retry_after(served: Served) -> None:
    served.faults.rate_limit(3, per=60)
    responses = [served.client.get("/items") for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert 1 <= int(responses[3].headers["Retry-After"]) <= 60
    assert [r.fault for r in served.faults.requests()][3:] == ["rate limit"] * 2
    served.faults.rate_limit(None)
    assert served.client.get("/items").status_code == 200


def test_control_routes__drive_the_same_faults_over_http(served: Served) -> None:
    client = served.client
    for spec in ({"kind": "status", "status": 503, "count": 1},
                 {"kind": "drop", "count": 1},
                 {"kind": "latency", "seconds": 0.01}):
        assert client.post("/_faults", json=spec).status_code == 200
    state = client.get("/_faults").json()
    assert [q["action"] for q in state["queued"]] == ["status", "drop"]
    assert state["latency"] == 0.01
    assert client.get("/items").status_code == 503
    with pytest.raises(httpx.TransportError):
        client.get("/items")
    log = client.get("/_faults/requests").json()
    assert [(e["path"], e["result"]) for e in log] == [("/items", 503), ("/items", "dropped")]
    assert client.delete("/_faults").status_code == 204
    assert client.get("/_faults").json()["latency"] == 0
    assert client.delete("/_faults/requests").status_code == 204
    assert client.get("/_faults/requests").json() == []


@pytest.mark.parametrize(("body", "message"), [
    ({"kind": "teleport"}, "unknown fault kind 'teleport'; known kinds: status, drop"),
    ({"kind": "status", "status": 700}, "status must be between 200 and 599"),
    ({"kind": "drop", "count": 0}, "count must be >= 1"),
    ({"kind": "latency", "seconds": 1, "extra": 2}, "unexpected keyword argument 'extra'"),
    ([1, 2], "the body must be a JSON object"),
])
def test_control_routes__reject_a_bad_fault_saying_why(
    served: Served, body: Any, message: str
) -> None:
    response = served.client.post("/_faults", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_reset__removes_every_fault_and_keeps_the_log(served: Served) -> None:
    served.faults.fail_next(5)
    served.faults.error_rate(1.0)
    served.faults.rate_limit(1, per=60)
    served.faults.latency(0.01)
    assert served.client.get("/items").status_code == 503
    served.faults.reset()
    assert [served.client.get("/items").status_code for _ in range(3)] == [200] * 3
    assert len(served.faults.requests()) == 4


def test_lifespan__passes_through_to_the_wrapped_app() -> None:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.started = "yes"
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/started")
    async def started() -> dict[str, str]:
        return {"started": app.state.started}

    with serve(FaultInjector(app), lifespan="on") as url:
        assert httpx.get(f"{url}/started").json() == {"started": "yes"}


def test_chaos__mixes_errors_timeouts_and_lost_responses_from_a_seed() -> None:
    app = Counter()
    faults = FaultInjector(app, seed=5)
    # Held requests outlast the client's wait by far; an answered one (under 1 ms on
    # loopback) has 0.3 s, so a loaded machine is not taken for a chaos timeout.
    faults.chaos(error=0.3, timeout=0.2, lose=0.2, hang=1.0, status=500)
    outcomes: list[str] = []
    with serve(faults) as url, httpx.Client(base_url=url, timeout=0.3) as client:
        for _ in range(40):
            try:
                outcomes.append(str(client.post("/bills", json={}).status_code))
            except httpx.TimeoutException:
                outcomes.append("timeout")
            except httpx.TransportError:
                outcomes.append("lost")
        faults.chaos()  # all zero: off
        assert client.post("/bills", json={}).status_code == 201
        # Errors never reach the app; held and lost requests do, so the app sees every other
        # one — the held ones once their hold ends, after the client gave up.
        deadline = time.monotonic() + 30
        while len(app.hits) < 41 - outcomes.count("500") and time.monotonic() < deadline:
            time.sleep(0.05)
    assert {"500", "201", "timeout", "lost"} <= set(outcomes)
    labels = [r.fault for r in faults.requests()]
    assert labels.count("chaos timeout") == outcomes.count("timeout")
    assert len(app.hits) == 41 - outcomes.count("500")
    assert faults.state()["chaos"] is None


def test_chaos__is_driven_over_http_and_refuses_rates_above_one(served: Served) -> None:
    response = served.client.post("/_faults", json={"kind": "chaos", "error": 0.5,
                                                    "lose": 0.5, "seed": 2})
    assert response.json()["chaos"]["lose"] == 0.5
    bad = served.client.post("/_faults", json={"kind": "chaos", "error": 0.7, "lose": 0.5})
    assert bad.status_code == 400 and "exceed 1" in bad.json()["error"]["message"]
