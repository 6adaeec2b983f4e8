"""Cassettes: record real traffic over loopback, redacted; replay it with no server at all."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.crm.connector import CrmConnector
from connectors.crm.sandbox import create_app
from connectors.sdk import HttpClient
from connectors.sdk.redaction import Redactor
from connectors.sdk.sandbox import serve
from connectors.sdk.testing import Cassette, CassetteError, FaultInjector, UnmatchedRequestError

KEY = "crm-cassette-key-31d9a6c2"
SECRET = "tok-9f8e7d6c5b4a"


async def read_customers(crm: CrmConnector) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    async for batch in crm.read("customers"):
        records.extend(batch.records)
    return records


async def test_record__a_crm_read_replays_offline_with_identical_records(tmp_path: Path) -> None:
    cassette = tmp_path / "cassettes" / "customers.json"
    with serve(create_app(api_key=KEY, customers=60)) as url:
        config = {"base_url": url, "api_key": KEY, "page_size": 25}
        transport = Cassette.record(cassette, redactor=Redactor([KEY]))
        async with CrmConnector.from_dict(config, transport=transport) as crm:
            live = await read_customers(crm)
    text = cassette.read_text(encoding="utf-8")
    assert KEY not in text
    recorded = Cassette.load(cassette).interactions
    assert len(recorded) == 3  # 60 customers in pages of 25
    assert all(i.request_headers["x-api-key"] == "***" for i in recorded)
    # The sandbox is gone: the same read is answered from the file alone.
    replay = Cassette.replay(cassette)
    async with CrmConnector.from_dict(config, transport=replay) as crm:
        replayed = await read_customers(crm)
    assert replayed == live and len(live) == 60
    assert replay.unplayed() == []


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """Answers with what it was sent; `/gzip` answers gzip-encoded; `/token` leaks a token."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    payload: dict[str, Any] = {"path": scope["path"], "got": json.loads(body) if body else None}
    headers = [(b"content-type", b"application/json"), (b"set-cookie", b"sid=abc123456")]
    if scope["path"] == "/token":
        payload = {"access_token": SECRET, "expires_in": 7200}
    content = json.dumps(payload).encode()
    if scope["path"] == "/gzip":
        content = gzip.compress(content)
        headers.append((b"content-encoding", b"gzip"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def record(path: Path, app: Any, *requests: tuple[str, str, dict[str, Any]]) -> list[Any]:
    answers = []
    with serve(app) as url:
        transport = Cassette.record(path, redactor=Redactor([SECRET]),
                                    sensitive_params=["sig"])
        async with httpx.AsyncClient(base_url=url, transport=transport) as client:
            for method, target, kwargs in requests:
                try:
                    answers.append((await client.request(method, target, **kwargs)).json())
                except httpx.TransportError as exc:
                    answers.append(type(exc))
    return answers


async def test_record__masks_secrets_in_query_headers_and_bodies(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    await record(path, echo,
                 ("POST", f"/x?access_token={SECRET}&sig=s1g-value&q=1",
                  {"json": {"password": "hunter2-long", "note": f"key {SECRET}"},
                   "headers": {"Authorization": f"Bearer {SECRET}", "X-Trace": "t1"}}),
                 ("GET", "/token", {}))
    text = path.read_text(encoding="utf-8")
    for secret in (SECRET, "hunter2-long", "s1g-value", "abc123456"):
        assert secret not in text
    first, second = Cassette.load(path).interactions
    assert first.url.endswith("/x?access_token=***&sig=***&q=1")
    assert first.request_headers["authorization"] == "***"
    assert first.request_headers["x-trace"] == "t1"
    assert first.request_body == {"json": {"password": "***", "note": "key ***"}}
    assert second.response_body == {"json": {"access_token": "***", "expires_in": 7200}}
    assert ("set-cookie", "***") in second.response_headers


async def test_replay__ignores_masked_values_and_json_key_order(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    await record(path, echo,
                 ("POST", "/x?access_token=old-token-1&q=1", {"json": {"a": 1, "b": 2}}))
    async with httpx.AsyncClient(base_url="http://offline.invalid",
                                 transport=Cassette.replay(path)) as client:
        response = await client.post("/x?q=1&access_token=new-token-2", json={"b": 2, "a": 1})
    assert response.json() == {"path": "/x", "got": {"a": 1, "b": 2}}


async def test_record__stores_a_gzip_response_decoded(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    [answer] = await record(path, echo, ("GET", "/gzip", {}))
    assert answer == {"path": "/gzip", "got": None}
    [interaction] = Cassette.load(path).interactions
    assert interaction.response_body == {"json": answer}
    assert all(name != "content-encoding" for name, _ in interaction.response_headers)
    async with httpx.AsyncClient(base_url="http://offline.invalid",
                                 transport=Cassette.replay(path)) as client:
        assert (await client.get("/gzip")).json() == answer


async def test_replay__plays_matching_interactions_in_order_then_repeats_the_last(
    tmp_path: Path
) -> None:
    path = tmp_path / "c.json"
    faults = FaultInjector(echo)
    faults.fail_next(1, status=503)
    faults.drop_next(1)
    answers = await record(path, faults, *[("GET", "/items", {})] * 3)
    assert answers[1] in (httpx.ReadError, httpx.RemoteProtocolError)
    async with httpx.AsyncClient(base_url="http://offline.invalid",
                                 transport=Cassette.replay(path)) as client:
        assert (await client.get("/items")).status_code == 503
        with pytest.raises(answers[1]):
            await client.get("/items")
        assert [(await client.get("/items")).status_code for _ in range(2)] == [200, 200]


async def test_replay__strict_names_the_closest_recorded_requests(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    await record(path, echo, ("GET", "/api/customers?limit=25", {}),
                 ("GET", "/api/customers?limit=25&cursor=abc", {}), ("GET", "/health", {}))
    http = HttpClient(base_url="http://offline.invalid", connector="t", connection="t",
                      transport=Cassette.replay(path))
    try:
        with pytest.raises(UnmatchedRequestError) as caught:  # not retried, not wrapped
            await http.send("GET", "/api/customers", operation="list",
                            params={"limit": 25, "cursor": "xyz"})
    finally:
        await http.aclose()
    message = str(caught.value)
    assert "matches GET /api/customers?cursor=xyz&limit=25; closest recorded:" in message
    closest = message.splitlines()[1:]
    assert closest[0].strip() == "GET /api/customers?cursor=abc&limit=25"
    assert len(closest) == 3


async def test_replay__non_strict_answers_404_for_an_unrecorded_request(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    await record(path, echo, ("GET", "/a", {}))
    async with httpx.AsyncClient(base_url="http://offline.invalid",
                                 transport=Cassette.replay(path, strict=False)) as client:
        response = await client.get("/b")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_in_cassette"


@pytest.mark.parametrize(("content", "message"), [
    (None, "no cassette at"),
    ("{not json", "is not valid JSON"),
    ('{"version": 99, "interactions": []}', "is not a version 1 cassette"),
    ('{"version": 1, "interactions": [{"response": {}}]}', "has a malformed interaction"),
])
def test_load__a_missing_or_broken_file_says_what_is_wrong(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "c.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CassetteError, match=message):
        Cassette.replay(path)
