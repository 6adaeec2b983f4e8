"""The REST API: tickets created and read back enriched, over the app's real routes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from connectors.sdk.sandbox import serve
from hub.access.apikeys import create_key
from hub.api import create_app
from hub.core.settings import Settings
from hub.runtime import Hub
from hub.store.migrate import head_revision


@contextmanager
def client(settings: Settings) -> Iterator[httpx.Client]:
    """The API on a store of its own (no hub given), served on a loopback port."""
    with serve(create_app(settings), lifespan="on") as url, \
            httpx.Client(base_url=url, timeout=30) as api:
        yield api


def test_post_then_get__enriched_ticket(hub: Hub, crm_sandbox: Any, api_client: Any) -> None:
    vendor = crm_sandbox.state.customers[5]
    with api_client(hub) as api:
        created = api.post("/tickets", json={"subject": "洗碗机不出水", "channel": "web",
                                             "contact_mobile": vendor["contact"]["mobile"]})
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["enrichment_status"] == "enriched"
        assert body["customer"]["external_id"] == vendor["id"]
        fetched = api.get(f"/tickets/{body['id']}")
        assert fetched.status_code == 200
        assert fetched.json() == body
        listed = api.get("/tickets").json()["items"]
        assert [t["id"] for t in listed] == [body["id"]]


def test_get__missing_ticket_is_problem_json_404(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        response = api.get("/tickets/4242")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "no ticket 4242"


def test_post__invalid_mobile_names_the_field(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        response = api.post("/tickets", json={"subject": "x", "contact_mobile": "12"})
        deprecated = api.post("/tickets", json={"subject": "x", "mobile": "12"})
    assert response.status_code == deprecated.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "body.contact_mobile"
    [error] = deprecated.json()["errors"]  # named as the caller sent it
    assert error["field"] == "body.mobile"


def test_post__no_secret_in_responses(hub: Hub, crm_sandbox: Any, api_client: Any) -> None:
    with api_client(hub) as api:
        text = api.post("/tickets", json={"subject": "x", "contact_mobile": "13900000000"}).text
        text += api.get("/tickets").text
    assert crm_sandbox.api_key not in text


def test_health__reports_schema(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        body = api.get("/health").json()
    assert body["status"] == "ok" and body["schema"] == head_revision()


def test_startup__upgrades_an_empty_store(tmp_path: Any, crm_sandbox: Any,
                                          monkeypatch: Any) -> None:
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    with client(settings) as api:
        assert api.get("/health").json()["status"] == "ok"
        fresh = Hub(settings)  # the app upgraded the store: a key can be made in it now
        key = create_key(fresh, name="test", role="agent", actor="test").key
        fresh.close()
        assert api.post("/tickets", json={"subject": "first"},
                        headers={"Authorization": f"Bearer {key}"}).status_code == 201
