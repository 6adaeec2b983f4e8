"""Correct HTTP across the API: problem+json errors, size limits, CORS, Idempotency-Key."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.sdk.sandbox import serve
from hub.api import create_app
from hub.runtime import Hub
from hub.store.models import IdempotencyRecord, Ticket

PROBLEM = "application/problem+json"


def _problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{kind}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def _tickets(hub: Hub) -> int:
    with hub.sessions() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Ticket)) or 0)


def test_problem__unknown_ticket_is_404(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        body = _problem(api.get("/tickets/4242"), 404, "not-found")
    assert body["detail"] == "no ticket 4242"
    assert body["instance"] == "/tickets/4242"


def test_problem__unknown_route_is_404(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        body = _problem(api.get("/no/such/thing"), 404, "not-found")
    assert body["instance"] == "/no/such/thing"


def test_problem__wrong_method_is_405(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        response = api.delete("/tickets")
    _problem(response, 405, "method-not-allowed")
    assert response.headers["allow"]


def test_problem__validation_names_the_nested_field(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        ticket = api.post("/tickets", json={"subject": "坏了"}).json()
        response = api.post(f"/tickets/{ticket['id']}/resolve",
                            json={"refund": {"amount": "lots", "method": "wire"}})
    body = _problem(response, 422, "validation-failed")
    fields = [error["field"] for error in body["errors"]]
    assert "body.refund.amount" in fields
    assert all(error["message"] for error in body["errors"])
    assert "input" not in json.dumps(body["errors"])


def test_problem__validation_never_echoes_a_secret(hub: Hub, api_client: Any,
                                                   crm_sandbox: Any) -> None:
    _ = hub.config  # the redactor learns the connections' secrets with the config
    with api_client(hub) as api:
        response = api.post("/tickets", json={"subject": "x",
                                              "contact_mobile": crm_sandbox.api_key})
    body = _problem(response, 422, "validation-failed")
    assert [error["field"] for error in body["errors"]] == ["body.contact_mobile"]
    assert crm_sandbox.api_key not in response.text


def test_problem__unexpected_error_is_500_without_internals(
        hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    # A route of our own that fails: api_client serves the stock app, which has none.
    app = create_app(hub=hub)
    hub.redactor.add("hunter2-secret")

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("db password hunter2-secret at /srv/hub/secret.py line 7")

    import httpx

    caplog.set_level(logging.ERROR, logger="hub.api")
    with serve(app, lifespan="on") as url, httpx.Client(base_url=url, timeout=30) as api:
        response = api.get("/boom")
    body = _problem(response, 500, "internal-error")
    assert "hunter2" not in response.text and "secret.py" not in response.text
    assert body["instance"] == "/boom"
    assert any("boom" in record.getMessage() for record in caplog.records)  # logged...
    assert "hunter2-secret" not in caplog.text  # ...through the redactor


def test_size__content_length_over_the_limit_is_413(hub: Hub, api_client: Any) -> None:
    hub.settings.max_request_bytes = 2000
    with api_client(hub) as api:
        response = api.post("/tickets", json={"subject": "x", "description": "y" * 5000})
    _problem(response, 413, "request-too-large")
    assert _tickets(hub) == 0


def test_size__chunked_body_is_counted_as_it_streams(hub: Hub, api_client: Any) -> None:
    hub.settings.max_request_bytes = 2000
    payload = json.dumps({"subject": "x", "description": "y" * 5000}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 500):
            yield payload[start:start + 500]

    with api_client(hub) as api:
        response = api.post("/tickets", content=chunks(),
                            headers={"content-type": "application/json"})
    _problem(response, 413, "request-too-large")
    assert _tickets(hub) == 0


def test_size__a_body_under_the_limit_passes(hub: Hub, api_client: Any) -> None:
    hub.settings.max_request_bytes = 2000
    with api_client(hub) as api:
        assert api.post("/tickets", json={"subject": "x"}).status_code == 201


def test_cors__off_without_origins(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        response = api.get("/tickets", headers={"Origin": "https://desk.example"})
    assert "access-control-allow-origin" not in response.headers


def test_cors__configured_origin_is_allowed_and_sees_etag(hub: Hub, api_client: Any) -> None:
    hub.settings.cors_origins = ["https://desk.example"]
    with api_client(hub) as api:
        preflight = api.options("/tickets/1", headers={
            "Origin": "https://desk.example", "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "if-match"})
        ticket = api.post("/tickets", json={"subject": "x"},
                          headers={"Origin": "https://desk.example"})
        other = api.get("/tickets", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://desk.example"
    assert ticket.headers["access-control-allow-origin"] == "https://desk.example"
    exposed = ticket.headers["access-control-expose-headers"].lower()
    assert "etag" in exposed and "location" in exposed
    assert "access-control-allow-origin" not in other.headers


def test_idempotency__a_repeat_replays_and_creates_one_ticket(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        headers = {"Idempotency-Key": "create-1"}
        first = api.post("/tickets", json={"subject": "打印机卡纸"}, headers=headers)
        again = api.post("/tickets", json={"subject": "打印机卡纸"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert _tickets(hub) == 1


def test_idempotency__same_key_other_body_is_422(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        headers = {"Idempotency-Key": "create-2"}
        assert api.post("/tickets", json={"subject": "a"}, headers=headers).status_code == 201
        response = api.post("/tickets", json={"subject": "b"}, headers=headers)
    _problem(response, 422, "idempotency-key-reused")
    assert _tickets(hub) == 1


def test_idempotency__while_the_first_runs_is_409(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        body = {"subject": "a"}
        api.post("/tickets", json=body, headers={"Idempotency-Key": "done"})
        with hub.sessions.begin() as session:  # the same request, claimed and not finished
            done = session.scalars(sa.select(IdempotencyRecord)).one()
            session.add(IdempotencyRecord(
                principal=done.principal, key="running", method="POST", path="/tickets",
                request_hash=done.request_hash, status_code=None, response_body=None,
                response_headers=None, created_at=done.created_at,
                expires_at=done.expires_at))
        response = api.post("/tickets", json=body, headers={"Idempotency-Key": "running"})
    _problem(response, 409, "idempotency-key-in-use")
    assert _tickets(hub) == 1


def test_idempotency__expired_answers_are_not_replayed(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        headers = {"Idempotency-Key": "old"}
        api.post("/tickets", json={"subject": "a"}, headers=headers)
        with hub.sessions.begin() as session:
            record = session.scalars(sa.select(IdempotencyRecord)).one()
            record.expires_at = record.created_at.replace(year=2000)
        again = api.post("/tickets", json={"subject": "a"}, headers=headers)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert _tickets(hub) == 2


def test_idempotency__a_key_over_200_characters_is_refused(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        response = api.post("/tickets", json={"subject": "a"},
                            headers={"Idempotency-Key": "k" * 201})
    _problem(response, 422, "invalid-request")
    assert _tickets(hub) == 0


def test_idempotency__failures_are_not_kept(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        headers = {"Idempotency-Key": "resolve-1"}
        response = api.post("/tickets/999/resolve", json={"note": "x"}, headers=headers)
        again = api.post("/tickets/999/resolve", json={"note": "x"}, headers=headers)
    _problem(response, 404, "not-found")
    assert again.headers["idempotent-replayed"] == "true"  # a 4xx is the answer: replayed
    assert again.json() == response.json()
