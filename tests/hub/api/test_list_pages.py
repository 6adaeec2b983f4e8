"""Every list answers one envelope, `{items, next_cursor}`: /outbox, /dead-letters, /imports,
/jobs and /connections page like /runs or /audit (/kb/search: tests/hub/kb/test_search.py).
Walking the cursors with a small limit gives each row once, in order, filters hold on every
page, and a cursor that is not the listing's own is a 422 naming `query.cursor`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hub.runtime import Hub
from hub.store.models import Import, OutboxMessage

FORGED = "bm9wZTox"  # base64 of "nope:1"


def _walk(api: httpx.Client, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        response = api.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}, body
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def _flat(pages: list[list[dict[str, Any]]], key: str = "id") -> list[Any]:
    return [item[key] for page in pages for item in page]


def _cursor_refused(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == ["query.cursor"]


def _seed_outbox(hub: Hub, api: httpx.Client) -> list[OutboxMessage]:
    """Seven rows over two tickets, three of them dead letters."""
    tickets = [api.post("/tickets", json={"subject": f"退款 {i}", "channel": "web"}).json()["id"]
               for i in range(2)]
    now = datetime.now(UTC)
    rows = [OutboxMessage(
        job="erp_refunds", ticket_id=tickets[i % 2], ordering_key=f"t{tickets[i % 2]}",
        connection="kingdee", action="refund.create", idempotency_key=f"K{i}",
        mapping="kingdee_refund_bill@1", payload={}, document={},
        status="dead" if i in (1, 4, 5) else "pending", attempts=0, replays=0,
        next_attempt_at=now, created_at=now, updated_at=now) for i in range(7)]
    with hub.sessions.begin() as session:
        session.add_all(rows)
    return rows


def test_outbox__pages_hold_each_row_once_newest_first_with_filters(
        hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        rows = _seed_outbox(hub, api)
        every = _walk(api, "/outbox", limit=3)
        dead = _walk(api, "/outbox", status="dead", limit=2)
        ticket = rows[0].ticket_id
        one_ticket = _walk(api, "/outbox", ticket_id=ticket, limit=1)
        both = _walk(api, "/outbox", ticket_id=ticket, status="dead", limit=1)
        default = api.get("/outbox").json()
    ids = [row.id for row in rows]
    assert [len(page) for page in every] == [3, 3, 1]
    assert _flat(every) == sorted(ids, reverse=True)
    assert _flat(dead) == sorted((r.id for r in rows if r.status == "dead"), reverse=True)
    assert [len(page) for page in dead] == [2, 1]
    assert _flat(one_ticket) == sorted((r.id for r in rows if r.ticket_id == ticket),
                                       reverse=True)
    assert _flat(both) == [rows[4].id]
    assert len(default["items"]) == 7 and default["next_cursor"] is None


def test_dead_letters__pages_hold_each_dead_letter_once(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        rows = _seed_outbox(hub, api)
        pages = _walk(api, "/dead-letters", limit=2)
    assert [len(page) for page in pages] == [2, 1]
    assert _flat(pages) == sorted((r.id for r in rows if r.status == "dead"), reverse=True)
    assert {row["status"] for page in pages for row in page} == {"dead"}


def _seed_imports(hub: Hub, count: int) -> list[int]:
    now = datetime.now(UTC)
    rows = [Import(file_name=f"客户{i}.csv", file_path=f"/tmp/{i}.csv", content_hash=f"{i:064d}",
                   size=10, mapping="import_customers@1", target="customer", source="import",
                   options={}, status="succeeded", actor="test",
                   started_at=now - timedelta(minutes=count - i)) for i in range(count)]
    with hub.sessions.begin() as session:
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def test_imports__pages_hold_each_import_once_newest_first(hub: Hub, api_client: Any) -> None:
    ids = _seed_imports(hub, 5)
    with api_client(hub) as api:
        pages = _walk(api, "/imports", limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert _flat(pages) == sorted(ids, reverse=True)
    assert _flat(pages, "file_name")[0] == "客户4.csv"


def test_jobs_and_connections__page_by_name(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        jobs = _walk(api, "/jobs", limit=2)
        connections = _walk(api, "/connections", limit=2)
        whole = api.get("/jobs").json()
    assert _flat(jobs, "name") == sorted(hub.config.hub.jobs)
    assert all(len(page) == 2 for page in jobs[:-1]) and len(jobs) > 2
    assert _flat(connections, "name") == sorted(hub.config.hub.connections)
    assert len(connections) > 1
    assert _flat([whole["items"]], "name") == sorted(hub.config.hub.jobs)
    assert whole["next_cursor"] is None


LISTS = ["/outbox", "/dead-letters", "/imports", "/jobs", "/connections", "/runs", "/audit",
         "/webhook-events", "/customers", "/tickets"]


@pytest.mark.parametrize("path", LISTS)
def test_cursor__a_forged_one_is_a_422_naming_it(hub: Hub, api_client: Any, path: str) -> None:
    with api_client(hub) as api:
        _cursor_refused(api.get(path, params={"cursor": FORGED}))
        _cursor_refused(api.get(path, params={"cursor": "%%%"}))


def test_cursor__one_list_refuses_another_lists(hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        _seed_outbox(hub, api)
        _seed_imports(hub, 3)
        cursors = {path: api.get(path, params={"limit": 1}).json()["next_cursor"]
                   for path in ("/outbox", "/dead-letters", "/imports", "/jobs",
                                "/connections")}
        assert all(cursors.values()), cursors
        for path, cursor in cursors.items():
            for other in cursors:
                response = api.get(other, params={"cursor": cursor})
                if other == path:
                    assert response.status_code == 200, response.text
                else:
                    _cursor_refused(response)
