"""GET /tickets/{id} on its fast read path: never stale when another process changes the
ticket, an ETag that PATCH accepts (with and without write-backs), and an OpenAPI that still
documents the parameters the route reads itself."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from hub.core.settings import Settings
from hub.runtime import Hub
from hub.store.models import Ticket
from hub.tickets import (
    TicketCreate,
    TicketReader,
    get_ticket_json,
    get_versioned_ticket,
    insert_ticket,
)

SUMMARY = {"orders": 2, "total_spent": "99.00", "last_order_at": None, "interactions": 0}


def _seed(hub: Hub, **fields: Any) -> int:
    with hub.sessions.begin() as session:
        return insert_ticket(hub, session, TicketCreate(subject="洗碗机不出水", **fields),
                             actor="test").id


def _get(api: httpx.Client, ticket_id: int, **headers: str) -> httpx.Response:
    response = api.get(f"/tickets/{ticket_id}", params={"expand": "customer,orders"},
                       headers=headers)
    assert response.status_code in (200, 304), response.text
    return response


def test_get__sees_a_change_another_process_made(hub: Hub, api_client: Any) -> None:
    ticket_id = _seed(hub)
    # Another process on the same store: its own engine, its own connection pool.
    other = Hub(Settings(database_url=hub.settings.database_url))
    try:
        with api_client(hub) as api:
            first = _get(api, ticket_id)
            etag = first.headers["etag"]
            assert _get(api, ticket_id, **{"If-None-Match": etag}).status_code == 304
            with other.engine.begin() as connection:
                connection.execute(sa.update(Ticket).where(Ticket.id == ticket_id).values(
                    subject="洗碗机漏水", enrichment={"summary": SUMMARY}))
            changed = _get(api, ticket_id, **{"If-None-Match": etag})
            assert changed.status_code == 200
            assert changed.json()["subject"] == "洗碗机漏水"
            assert changed.json()["summary"] == {**SUMMARY, "orders_by_source": None}
            assert changed.headers["etag"] != etag
            # A change to one column only, the enrichment untouched, is a new version too.
            with other.engine.begin() as connection:
                connection.execute(sa.update(Ticket).where(Ticket.id == ticket_id).values(
                    priority="urgent"))
            again = _get(api, ticket_id)
            assert again.json()["priority"] == "urgent"
            assert again.headers["etag"] not in (etag, changed.headers["etag"])
    finally:
        other.close()


def test_get__etag_is_the_version_patch_checks_with_write_backs(
        hub: Hub, api_client: Any) -> None:
    ticket_id = _seed(hub)
    with api_client(hub) as api:
        assert api.post(f"/tickets/{ticket_id}/resolve",
                        json={"note": "换了滤网"}).status_code == 200
        assert api.post(f"/tickets/{ticket_id}/reopen").status_code == 200
        etag = _get(api, ticket_id).headers["etag"]  # resolved once: read with write-backs
        assert _get(api, ticket_id, **{"If-None-Match": etag}).status_code == 304
        updated = api.patch(f"/tickets/{ticket_id}", headers={"If-Match": etag},
                            json={"priority": "high"})
        assert updated.status_code == 200, updated.text
        assert _get(api, ticket_id).headers["etag"] == updated.headers["etag"] != etag
        stale = api.patch(f"/tickets/{ticket_id}", headers={"If-Match": etag},
                          json={"priority": "low"})
        assert stale.status_code == 412


def test_get__unknown_expansion_and_missing_ticket(hub: Hub, api_client: Any) -> None:
    ticket_id = _seed(hub)
    with api_client(hub) as api:
        unknown = api.get(f"/tickets/{ticket_id}", params={"expand": "customer,invoices"})
        missing = api.get("/tickets/999999", params={"expand": "customer,orders"})
    assert unknown.status_code == 422 and "invoices" in unknown.json()["detail"]
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/not-found"


def test_openapi__get_ticket_documents_expand_and_if_none_match(
        hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        operation = api.get("/openapi.json").json()["paths"]["/tickets/{ticket_id}"]["get"]
    parameters = {(p["name"], p["in"]): p for p in operation["parameters"]}
    assert set(parameters) == {("ticket_id", "path"), ("expand", "query"),
                               ("if-none-match", "header")}
    assert parameters["expand", "query"]["schema"]["examples"] == ["customer,orders,kb"]
    assert not parameters["if-none-match", "header"]["required"]
    assert "304" in operation["responses"]


def test_get__body_is_the_models_json(hub: Hub, api_client: Any) -> None:
    """The route writes the body straight from the row: it must be what TicketPublic writes,
    field for field and in the same order, whatever the ticket holds."""
    plain = _seed(hub, contact_mobile="13800000001", contact_email="wang@example.com",
                  category="维修")
    enriched = _seed(hub)
    with hub.sessions.begin() as session:
        ticket = session.get_one(Ticket, enriched)
        # As the first versions wrote it: no mapping, no attempt, no orders_by_source,
        # history items without their connection, `+00:00`, and a resolution of a note.
        ticket.enrichment = {
            "customer": {"id": 7, "source": "crm", "external_id": "C7", "name": "王芳",
                         "company": None, "mobile": None, "email": None, "tier": "gold",
                         "attributes": {"vip": True}},
            "history": {"customer_id": "C7", "orders": [{"total": 12.5, "items": []}]},
            "summary": {"orders": 1, "total_spent": "12.5", "last_order_at": None,
                        "interactions": 0},
            "sources": [{"connection": "crm", "status": "ok",
                         "fetched_at": "2026-05-01T08:00:02.500000+00:00"}],
            "extra": {"ignored": 1}}
        ticket.enriched_at = ticket.created_at
        ticket.resolution = {"note": "换了滤网"}
    with api_client(hub) as api:
        for ticket_id in (plain, enriched):
            response = _get(api, ticket_id)
            expected = get_versioned_ticket(hub, ticket_id).ticket.model_dump(mode="json")
            assert response.json() == expected
            assert list(response.json()) == list(expected)
            assert response.headers["etag"] == get_versioned_ticket(hub, ticket_id).etag


def test_reader__a_dropped_connection_costs_no_failed_read(hub: Hub) -> None:
    ticket_id = _seed(hub)
    reader = TicketReader(hub.engine)
    try:
        assert get_ticket_json(hub, ticket_id, reader=reader).etag \
            == get_versioned_ticket(hub, ticket_id).etag
        held = reader._connection  # the connection it keeps between reads
        held.dbapi_connection.close()  # as a server dropping an idle connection would
        again = get_ticket_json(hub, ticket_id, reader=reader)
        assert again.etag == get_versioned_ticket(hub, ticket_id).etag
        assert reader._connection is not held
    finally:
        reader.close()
