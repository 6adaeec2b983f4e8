"""Input no store column can hold is refused at the edge with a 422 naming the field, on
SQLite and PostgreSQL: ids past the column's range (every id column is a 32-bit INTEGER)
and NUL characters in bodies, filters and path segments. Never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub.runtime import Hub

TOO_BIG = [2**31, 2**63, 2**64]  # one past INTEGER; one past BIGINT; past any machine word

# Every route taking a row id, as (method, path template, body).
ID_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/tickets/{id}", None),
    ("PATCH", "/tickets/{id}", {"priority": "high"}),
    ("POST", "/tickets/{id}/resolve", {"note": "ok"}),
    ("POST", "/tickets/{id}/reopen", None),
    ("GET", "/customers/{id}", None),
    ("GET", "/customers/{id}/history", None),
    ("GET", "/runs/{id}", None),
    ("GET", "/outbox/{id}", None),
    ("POST", "/dead-letters/{id}/replay", None),
    ("GET", "/imports/{id}", None),
    ("GET", "/imports/{id}/report.csv", None),
    ("GET", "/tickets?customer_id={id}", None),
    ("GET", "/outbox?ticket_id={id}", None),
]


def _field_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "/problems/validation-failed"
    assert field in [error["field"] for error in problem["errors"]], problem


@pytest.mark.parametrize("number", TOO_BIG)
def test_ids__past_the_column_range_are_422_naming_the_id(hub: Hub, api_client: Any,
                                                           number: int) -> None:
    with api_client(hub, headers={"If-Match": '"x"'}) as api:
        for method, template, body in ID_ROUTES:
            path = template.format(id=number)
            response = api.request(method, path, json=body)
            name = template.split("{")[0].rstrip("/=?").rsplit("/", 1)[-1]
            field = {"tickets?customer_id": "query.customer_id",
                     "outbox?ticket_id": "query.ticket_id"}.get(name)
            assert response.status_code == 422, (method, path, response.text)
            assert response.json()["type"] == "/problems/validation-failed", (method, path)
            if field:
                _field_refused(response, field)
            negative = api.request(method, template.format(id=-number), json=body)
            assert negative.status_code == 422, (method, path, negative.text)
        listed = api.post("/dead-letters/replay", json={"ids": [1, number]})
        _field_refused(listed, "body.ids.1")


def test_ids__the_largest_in_range_is_a_plain_404(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        for path in ("/tickets/2147483647", "/customers/2147483647", "/runs/2147483647",
                     "/outbox/2147483647", "/imports/2147483647"):
            response = api.get(path)
            assert response.status_code == 404, (path, response.text)
        assert api.get("/tickets", params={"customer_id": 2**31 - 1}).json()["items"] == []


NUL_QUERIES: list[tuple[str, str]] = [
    ("/tickets", "q"), ("/tickets", "status"), ("/tickets", "category"),
    ("/tickets", "priority"), ("/tickets", "channel"), ("/tickets", "cursor"),
    ("/customers", "q"), ("/customers", "mobile"), ("/customers", "email"),
    ("/runs", "job"), ("/runs", "status"), ("/audit", "actor"), ("/audit", "target"),
    ("/audit", "action"), ("/webhook-events", "connection"), ("/kb/search", "q"),
    ("/tickets/1", "expand"),
]


def test_nul__in_a_filter_is_422_naming_it(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        api.post("/tickets", json={"subject": "打印机卡纸", "channel": "web"})
        for path, name in NUL_QUERIES:
            _field_refused(api.get(path, params={name: "a\x00b"}), f"query.{name}")


def test_nul__in_a_ticket_body_is_422_naming_the_field(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        created = api.post("/tickets", json={"subject": "打印机卡纸", "channel": "web"})
        etag, url = created.headers["ETag"], created.headers["Location"]
        _field_refused(api.post("/tickets", json={"subject": "卡\x00纸", "channel": "web"}),
                       "body.subject")
        _field_refused(api.post("/tickets", json={"subject": "卡纸", "channel": "web",
                                                  "description": "x\x00"}),
                       "body.description")
        _field_refused(api.patch(url, json={"category": "a\x00"}, headers={"If-Match": etag}),
                       "body.category")
        _field_refused(api.post(f"{url}/resolve", json={"note": "ok",
                                                       "parts": [{"material": "P\x00",
                                                                  "qty": "1"}]}),
                       "body.parts.0.material")
        # Nothing was written: the ticket is as created.
        assert api.get(url).json()["status"] == "open"


def test_nul__in_a_path_segment_is_422(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        for method, path in (("POST", "/jobs/crm%00x/pause"), ("POST", "/jobs/a%00/trigger"),
                             ("POST", "/connections/cr%00m/check")):
            _field_refused(api.request(method, path), "path")


@pytest.mark.parametrize("raw", ["0", "-1", str(2**31), "abc", "1.5"])
def test_ticket_read__refuses_a_bad_id_as_the_declared_routes_do(hub: Hub, api_client: Any,
                                                                 raw: str) -> None:
    """GET /tickets/{id} reads its id itself (the click path skips FastAPI's extraction):
    the same 422, naming path.ticket_id, as a route whose id FastAPI validates."""
    with api_client(hub) as api:
        read = api.get(f"/tickets/{raw}")
        reopen = api.post(f"/tickets/{raw}/reopen")
    _field_refused(read, "path.ticket_id")
    assert read.json()["errors"] == reopen.json()["errors"]
