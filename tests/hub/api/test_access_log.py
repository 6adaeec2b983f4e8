"""`hub serve --access-log`: one JSON line per request with its request id, which the answer
carries in X-Request-Id and every log record of the request carries too."""

from __future__ import annotations

import io
import json
import logging

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from connectors.sdk.redaction import Redactor
from hub.api.access_log import AccessLog
from hub.core.logs import current_context

SEEN: list[dict[str, object]] = []


async def _echo(request: Request) -> PlainTextResponse:
    SEEN.append(current_context())
    logging.getLogger("hub.test").warning("inside the request")
    return PlainTextResponse("ok", status_code=201)


def _client(stream: io.StringIO) -> httpx.AsyncClient:
    app = AccessLog(Starlette(routes=[Route("/things/{id}", _echo, methods=["GET", "POST"])]),
                    redactor=Redactor(["s3cret-token-value"]), stream=stream)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")


async def test_access_log__one_json_line_per_request_with_its_request_id() -> None:
    stream = io.StringIO()
    async with _client(stream) as client:
        given = await client.post("/things/1?access_token=s3cret-token-value",
                                  headers={"X-Request-Id": "req-42.a_b"})
        fresh = await client.get("/things/s3cret-token-value")
        hostile = await client.get("/things/2", headers={"X-Request-Id": "a b\"<x>"})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert given.headers["x-request-id"] == "req-42.a_b"
    assert lines[0]["request_id"] == "req-42.a_b" and SEEN[-3]["request_id"] == "req-42.a_b"
    assert {k: lines[0][k] for k in ("event", "method", "path", "status")} == {
        "event": "access", "method": "POST", "path": "/things/1", "status": 201}
    assert lines[1]["request_id"] == fresh.headers["x-request-id"] != "req-42.a_b"
    assert lines[1]["path"] == "/things/***"  # a secret in the path is masked
    assert hostile.headers["x-request-id"] != "a b\"<x>"  # an insane id is replaced
    assert "s3cret" not in stream.getvalue()
