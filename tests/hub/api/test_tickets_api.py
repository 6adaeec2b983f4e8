"""/tickets over HTTP: ETags, If-None-Match, If-Match updates (no lost update), filters and
cursor pages."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from hub.runtime import Hub
from hub.store.models import AuditRecord, Ticket
from hub.tickets import TicketCreate, insert_ticket


def _seed(hub: Hub, count: int, **fields: Any) -> list[int]:
    """Tickets stored straight through the service (no enrichment round trips)."""
    with hub.sessions.begin() as session:
        return [insert_ticket(hub, session, TicketCreate(subject=f"ticket {n}", **fields),
                              actor="test").id for n in range(count)]


def _etag_of(api: httpx.Client, ticket_id: int) -> str:
    response = api.get(f"/tickets/{ticket_id}")
    assert response.status_code == 200, response.text
    return str(response.headers["etag"])


def test_get__etag_and_if_none_match_304(hub: Hub, api_client: Any) -> None:
    [ticket_id] = _seed(hub, 1)
    with api_client(hub) as api:
        etag = _etag_of(api, ticket_id)
        assert etag.startswith('"') and etag.endswith('"')
        cached = api.get(f"/tickets/{ticket_id}", headers={"If-None-Match": etag})
        assert cached.status_code == 304 and cached.headers["etag"] == etag
        other = api.get(f"/tickets/{ticket_id}", headers={"If-None-Match": '"old"'})
        assert other.status_code == 200


def test_etag__changes_with_enrichment_resolution_and_reopen(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        created = api.post("/tickets", json={"subject": "洗碗机不出水"})
        ticket_id, etags = created.json()["id"], [created.headers["etag"]]
        assert created.headers["location"] == f"/tickets/{ticket_id}"
        assert _etag_of(api, ticket_id) == etags[0]  # created = enriched, same version
        resolved = api.post(f"/tickets/{ticket_id}/resolve", json={"note": "换了滤网"})
        etags.append(resolved.headers["etag"])
        assert _etag_of(api, ticket_id) == etags[-1]
        reopened = api.post(f"/tickets/{ticket_id}/reopen")
        etags.append(reopened.headers["etag"])
        assert api.get(f"/tickets/{ticket_id}",
                       headers={"If-None-Match": etags[0]}).status_code == 200
    assert len(set(etags)) == 3


def test_etag__changes_when_enrichment_lands(hub: Hub, api_client: Any) -> None:
    [ticket_id] = _seed(hub, 1, contact_mobile="13800000000")
    with api_client(hub) as api:
        before = _etag_of(api, ticket_id)
        with hub.sessions.begin() as session:
            ticket = session.get_one(Ticket, ticket_id)
            ticket.enrichment = {"customer": None, "history": None, "summary": None,
                                 "sources": []}
            ticket.enrichment_status = "not_found"
        assert _etag_of(api, ticket_id) != before


def test_patch__needs_if_match(hub: Hub, api_client: Any) -> None:
    [ticket_id] = _seed(hub, 1)
    with api_client(hub) as api:
        response = api.patch(f"/tickets/{ticket_id}", json={"priority": "high"})
    assert response.status_code == 428
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/precondition-required"


def test_patch__updates_with_a_new_etag_and_an_audit_row(hub: Hub, api_client: Any) -> None:
    [ticket_id] = _seed(hub, 1)
    with api_client(hub) as api:
        etag = _etag_of(api, ticket_id)
        response = api.patch(f"/tickets/{ticket_id}", headers={"If-Match": etag},
                             json={"priority": "urgent", "status": "pending",
                                   "category": "维修"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["priority"], body["status"], body["category"]) == \
            ("urgent", "pending", "维修")
        assert response.headers["etag"] != etag
        assert _etag_of(api, ticket_id) == response.headers["etag"]
        stale = api.patch(f"/tickets/{ticket_id}", headers={"If-Match": etag},
                          json={"priority": "low"})
        assert stale.status_code == 412
        assert stale.json()["type"] == "/problems/precondition-failed"
    with hub.sessions() as session:
        [row] = session.scalars(sa.select(AuditRecord).where(
            AuditRecord.action == "ticket.update")).all()
    assert row.target == f"ticket:{ticket_id}"
    assert sorted(row.detail["fields"]) == ["category", "priority", "status"]
    assert row.detail["priority"] == {"from": "normal", "to": "urgent"}


def test_patch__two_agents_same_etag_one_wins(hub: Hub, api_client: Any) -> None:
    [ticket_id] = _seed(hub, 1)
    results: dict[str, httpx.Response] = {}
    with api_client(hub) as api:
        etag = _etag_of(api, ticket_id)
        barrier = threading.Barrier(2)

        def edit(agent: str) -> None:
            with httpx.Client(base_url=str(api.base_url), timeout=30,
                              headers=dict(api.headers)) as own:
                barrier.wait()
                results[agent] = own.patch(f"/tickets/{ticket_id}",
                                           headers={"If-Match": etag},
                                           json={"subject": f"edited by {agent}"})

        threads = [threading.Thread(target=edit, args=(agent,)) for agent in ("ann", "bob")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = api.get(f"/tickets/{ticket_id}").json()
    statuses = sorted(response.status_code for response in results.values())
    assert statuses == [200, 412]
    [winner] = [agent for agent, response in results.items() if response.status_code == 200]
    assert final["subject"] == f"edited by {winner}"


def test_patch__refuses_resolved_status_and_unknown_fields(hub: Hub, api_client: Any) -> None:
    [ticket_id] = _seed(hub, 1)
    with api_client(hub) as api:
        etag = _etag_of(api, ticket_id)
        resolved = api.patch(f"/tickets/{ticket_id}", headers={"If-Match": etag},
                             json={"status": "resolved"})
        unknown = api.patch(f"/tickets/{ticket_id}", headers={"If-Match": etag},
                            json={"customer_id": 3})
        anything = api.patch(f"/tickets/{ticket_id}", headers={"If-Match": "*"},
                             json={"description": "more"})
    assert [e["field"] for e in resolved.json()["errors"]] == ["body.status"]
    assert [e["field"] for e in unknown.json()["errors"]] == ["body.customer_id"]
    assert anything.status_code == 200 and anything.json()["description"] == "more"


def test_list__filters(hub: Hub, api_client: Any) -> None:
    _seed(hub, 2, channel="web", priority="high", category="维修")
    _seed(hub, 3, channel="phone")
    [special] = _seed(hub, 1, channel="email")
    with hub.sessions.begin() as session:
        ticket = session.get_one(Ticket, special)
        ticket.subject, ticket.status = "Printer 100% jammed", "pending"
        ticket.created_at = datetime.now(UTC) - timedelta(days=10)

    def ids(**params: Any) -> set[int]:
        response = api.get("/tickets", params=params)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    with api_client(hub) as api:
        assert len(ids()) == 6
        assert len(ids(channel="web", priority="high", category="维修")) == 2
        assert len(ids(channel="phone")) == 3
        assert ids(status="pending") == {special}
        assert len(ids(status="open,pending")) == 6
        assert ids(q="100%") == {special} == ids(q="PRINTER")
        assert ids(q="1_0") == set()
        since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        assert special not in ids(created_since=since) and len(ids(created_since=since)) == 5
        assert ids(created_until=since) == {special}
        bad = api.get("/tickets", params={"cursor": "not-ours"})
    assert bad.status_code == 422
    assert bad.json()["type"] == "/problems/invalid-request"


def test_list__cursor_pages_have_no_gaps_or_duplicates(hub: Hub, api_client: Any) -> None:
    seeded = _seed(hub, 7)
    pages: list[list[int]] = []
    with api_client(hub) as api:
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            body = api.get("/tickets", params=params).json()
            pages.append([item["id"] for item in body["items"]])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        too_many = api.get("/tickets", params={"limit": 501})
    assert [len(page) for page in pages] == [3, 3, 1]
    flat = [ticket_id for page in pages for ticket_id in page]
    assert flat == sorted(seeded, reverse=True)
    assert too_many.status_code == 422
