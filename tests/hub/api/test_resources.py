"""/customers, /jobs, /runs, /audit, /connections and /webhook-events over the real app:
cursor pages without gaps or repeats, filters, problem+json 404s, no secret anywhere."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.sdk.redaction import secret_values
from hub.audit import AuditEntry
from hub.customers.store import upsert_customers
from hub.jobs.runs import finish_run, start_run
from hub.runtime import Hub
from hub.store.models import Customer, Ticket, WebhookEvent


def _all_pages(api: httpx.Client, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        response = api.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def _customers(hub: Hub, count: int) -> None:
    entities = [{"external_id": f"T{i:03d}", "name": f"客户{i}",
                 "company": "华联超市" if i % 2 else "美家电器",
                 "mobile": f"1390000{i:04d}", "email": f"c{i}@example.com", "tier": "std"}
                for i in range(count)]
    with hub.sessions.begin() as session:
        upsert_customers(session, "import", entities)


def test_customers__pages_filters_and_404(hub: Hub, api_client: Any) -> None:
    _customers(hub, 7)
    with api_client(hub) as api:
        pages = _all_pages(api, "/customers", limit=3)
        by_q = api.get("/customers", params={"q": "华联"}).json()["items"]
        by_mobile = api.get("/customers", params={"mobile": "+86 139-0000-0004"}).json()
        by_email = api.get("/customers", params={"email": "C5@example.com"}).json()
        missing = api.get("/customers/9999")
        bad_cursor = api.get("/customers", params={"cursor": "bm9wZTox"})
        one = api.get(f"/customers/{pages[0][0]['id']}").json()
        odd = [api.get("/customers", params={"q": "a\x00b"}),
               api.get("/customers/99999999999999"),
               api.get("/customers", params={"cursor": "Y3VzdG9tZXI6OTk5OTk5OTk5OTk5OTk5"}),
               api.get("/audit", params={"since": "0001-01-01T00:00:00+05:00"})]
    assert [len(page) for page in pages] == [3, 3, 1]
    ids = [c["id"] for page in pages for c in page]
    assert ids == sorted(set(ids), reverse=True) and len(ids) == 7
    assert {c["company"] for c in by_q} == {"华联超市"} and len(by_q) == 3
    assert [c["external_id"] for c in by_mobile["items"]] == ["T004"]
    assert [c["external_id"] for c in by_email["items"]] == ["T005"]
    assert _assert_problem(missing, 404)["detail"] == "no customer 9999"
    assert "cursor" in _assert_problem(bad_cursor, 422)["detail"]
    assert one["external_id"] == "T006" and one["source"] == "import"
    # what no stored row could match is a 422, never a database error
    assert [response.status_code for response in odd] == [422, 422, 422, 422]


def test_customers__a_row_added_between_pages_causes_no_gap_or_repeat(
        hub: Hub, api_client: Any) -> None:
    _customers(hub, 4)
    with api_client(hub) as api:
        first = api.get("/customers", params={"limit": 2}).json()
        with hub.sessions.begin() as session:
            upsert_customers(session, "import", [{"external_id": "NEW", "name": "新客户"}])
        second = api.get("/customers", params={"limit": 2, "cursor": first["next_cursor"]})
    ids = [c["id"] for c in first["items"] + second.json()["items"]]
    assert len(ids) == len(set(ids)) == 4


def test_customer_history__pieces_name_their_source_and_freshness(
        hub: Hub, crm_sandbox: Any, api_client: Any) -> None:
    vendor = crm_sandbox.state.customers[7]
    with api_client(hub) as api:
        ticket = api.post("/tickets", json={"subject": "退款进度",
                                            "mobile": vendor["contact"]["mobile"]}).json()
        history = api.get(f"/customers/{ticket['customer_id']}/history")
        missing = api.get("/customers/9999/history")
    assert history.status_code == 200, history.text
    body = history.json()
    assert body["customer"]["external_id"] == vendor["id"]
    pieces = {piece["kind"]: piece for piece in body["pieces"]}
    assert pieces["profile"]["source"] == "crm"
    assert pieces["tickets"]["source"] == "hub"
    assert [t["id"] for t in pieces["tickets"]["data"]] == [ticket["id"]]
    fetched = [p for p in body["pieces"] if p["kind"] not in ("profile", "tickets")]
    assert fetched, body  # orders / interactions / summary from the enrichment
    for piece in fetched:
        assert piece["source"] == "crm" and piece["via"] == f"ticket:{ticket['id']}"
        assert piece["fetched_at"] is not None and 0 <= piece["age_seconds"] < 3600
    _assert_problem(missing, 404)


def test_customer_history__a_ticket_without_a_creation_time_shows_when_it_was_stored(
        hub: Hub, api_client: Any) -> None:
    """An imported ticket whose file gave no creation time keeps it empty (migration 0013):
    the customer's history still answers, with the time the hub stored it."""
    stored = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    with hub.sessions.begin() as session:
        upsert_customers(session, "import", [{"external_id": "OLD", "name": "老客户"}])
    with hub.sessions.begin() as session:
        customer = session.query(Customer).filter_by(external_id="OLD").one()
        session.add(Ticket(subject="", description="", channel="import", status="closed",
                           customer_id=customer.id, external_ref="legacy:T-1",
                           enrichment_status="skipped", created_at=None, updated_at=stored))
        customer_id = customer.id
    with api_client(hub) as api:
        history = api.get(f"/customers/{customer_id}/history")
    assert history.status_code == 200, history.text
    tickets = {p["kind"]: p for p in history.json()["pieces"]}["tickets"]["data"]
    assert [t["created_at"] for t in tickets] == ["2026-11-02T08:30:00Z"]


def test_customer_history__merged_systems_give_one_piece_per_system(
        hub: Hub, crm_sandbox: Any, api_client: Any) -> None:
    vendor = crm_sandbox.state.customers[3]
    with api_client(hub) as api:
        ticket = api.post("/tickets", json={"subject": "维修",
                                            "mobile": vendor["contact"]["mobile"]}).json()
    with hub.sessions.begin() as session:  # as an enrich job with an ERP source leaves it
        row = session.get_one(Ticket, ticket["id"])
        enrichment = dict(row.enrichment or {})
        enrichment["history"] = {"orders": [
            {"order_no": "SO1", "source": "crm"}, {"order_no": "SO2", "source": "crm"},
            {"FBillNo": "XSDD001", "source": "kingdee"}]}
        enrichment["sources"] = [
            {"connection": "crm", "status": "ok", "fetched_at": "2026-11-23T08:00:00+00:00"},
            {"connection": "kingdee", "status": "ok",
             "fetched_at": "2026-11-23T07:00:00+00:00"}]
        row.enrichment = enrichment
    with api_client(hub) as api:
        body = api.get(f"/customers/{ticket['customer_id']}/history").json()
    orders = {p["source"]: p for p in body["pieces"] if p["kind"] == "orders"}
    assert set(orders) == {"crm", "kingdee"}
    assert [o["order_no"] for o in orders["crm"]["data"]] == ["SO1", "SO2"]
    assert [o["FBillNo"] for o in orders["kingdee"]["data"]] == ["XSDD001"]
    assert orders["kingdee"]["fetched_at"].startswith("2026-11-23T07:00")


def _runs(hub: Hub) -> list[int]:
    ids = []
    with hub.sessions.begin() as session:
        for i in range(5):
            run = start_run(session, job="crm_customers" if i % 2 else "kb_articles",
                            kind="pull", trigger="manual")
            run.read, run.rejected = 10 + i, i
            run.errors = {"records": [{"key": f"C{i}", "message": "mobile: bad"}]} if i else None
            finish_run(run, status="partial" if i else "succeeded")
            ids.append(run.id)
    return ids


def test_jobs_and_runs__last_run_pages_filters_detail_404(hub: Hub, api_client: Any) -> None:
    ids = _runs(hub)
    with api_client(hub) as api:
        jobs = {job["name"]: job for job in api.get("/jobs").json()["items"]}
        pages = _all_pages(api, "/runs", limit=2)
        crm = api.get("/runs", params={"job": "crm_customers"}).json()["items"]
        ok = api.get("/runs", params={"status": "succeeded"}).json()["items"]
        detail = api.get(f"/runs/{ids[3]}").json()
        missing = api.get("/runs/9999")
    assert jobs["crm_customers"]["kind"] == "pull" and jobs["crm_customers"]["connection"] == "crm"
    assert jobs["crm_customers"]["last_run_id"] == ids[3]
    assert jobs["kb_articles"]["last_run_id"] == ids[4]
    assert jobs["erp_refunds"]["last_run_id"] is None and jobs["erp_refunds"]["kind"] == "writeback"
    assert [r["id"] for page in pages for r in page] == sorted(ids, reverse=True)
    assert [r["id"] for r in crm] == [ids[3], ids[1]]
    assert [r["id"] for r in ok] == [ids[0]]
    assert detail["read"] == 13 and detail["rejected"] == 3 and detail["status"] == "partial"
    assert detail["errors"] == [{"key": "C3", "message": "mobile: bad"}]
    assert detail["started_at"].endswith(("Z", "+00:00"))  # RFC 3339, on SQLite too
    _assert_problem(missing, 404)


def test_audit__filters_time_window_pages_and_detail(hub: Hub, api_client: Any) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    hub.audit.record([AuditEntry("cli:alice", "ticket.create", f"ticket:{i}",
                                 detail={"channel": "web", "n": i}) for i in range(4)])
    hub.audit.record([AuditEntry("api:bob", "ticket.resolve", "ticket:1")])
    with api_client(hub) as api:
        alice = _all_pages(api, "/audit", actor="cli:alice", limit=3)
        creates = api.get("/audit", params={"action": "ticket.*", "target": "ticket:1"}).json()
        future = api.get("/audit", params={"since": (datetime.now(UTC) + timedelta(hours=1))
                                           .isoformat()}).json()
        window = api.get("/audit", params={"since": before.isoformat(), "actor": "api:*",
                                           "action": "ticket.*"}).json()
        backwards = api.get("/audit", params={"since": "2026-01-02T00:00:00Z",
                                              "until": "2026-01-01T00:00:00Z"})
    rows = [row for page in alice for row in page]
    assert [len(page) for page in alice] == [3, 1]
    assert [row["detail"]["n"] for row in rows] == [3, 2, 1, 0]  # newest first
    assert [row["seq"] for row in rows] == sorted((r["seq"] for r in rows), reverse=True)
    assert [(r["actor"], r["action"]) for r in creates["items"]] == [
        ("api:bob", "ticket.resolve"), ("cli:alice", "ticket.create")]
    assert future["items"] == []
    assert [(r["actor"], r["action"]) for r in window["items"]] == [
        ("api:bob", "ticket.resolve")]
    assert "until" in _assert_problem(backwards, 422)["detail"]


def test_connections__listing_holds_no_secret(hub: Hub, crm_sandbox: Any,
                                               api_client: Any) -> None:
    with api_client(hub, role="integrator", scopes=()) as api:
        response = api.get("/connections")
    assert response.status_code == 200, response.text
    listed = {c["name"]: c for c in response.json()["items"]}
    assert set(listed) == set(hub.config.hub.connections)
    assert listed["crm"]["type"] == "crm" and "api_key" in listed["crm"]["secret_fields"]
    assert listed["crm"]["settings"]["base_url"] == crm_sandbox.url
    assert "api_key" not in listed["crm"]["settings"]
    secrets = [s for config in hub.config.connection_configs.values()
               for s in secret_values(config)]
    assert crm_sandbox.api_key in secrets
    for secret in secrets:
        assert secret not in response.text


def test_connections__check_against_the_crm_sandbox_is_audited(
        hub: Hub, crm_sandbox: Any, api_client: Any, audit_text: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with api_client(hub, role="integrator", scopes=()) as api:
        ok = api.post("/connections/crm/check")
        crm_sandbox.state.api_key = "rotated"  # the hub's key no longer works
        refused = api.post("/connections/crm/check")
        missing = api.post("/connections/nope/check")
    assert ok.status_code == 200, ok.text
    assert ok.json()["ok"] is True and ok.json()["reachable"] is True
    assert ok.json()["latency_ms"] is not None
    body = refused.json()
    assert refused.status_code == 200 and body["ok"] is False
    assert body["reachable"] is True and body["authenticated"] is False
    assert "crm" in _assert_problem(missing, 404)["detail"]
    audit = audit_text(hub)
    assert "connection.check|connection:crm|ok" in audit
    assert "connection.check|connection:crm|failed" in audit
    assert crm_sandbox.api_key not in ok.text + refused.text + audit + caplog.text


def _events(hub: Hub) -> None:
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        for i, (connection, status) in enumerate([("dingtalk", "ticket"), ("wecom", "ignored"),
                                                  ("dingtalk", "ignored"),
                                                  ("dingtalk", "ticket")]):
            session.add(WebhookEvent(connection=connection, event_id=f"e{i}",
                                     event_type="customer_message", sender="u", status=status,
                                     payload={"n": i}, received_at=now, updated_at=now))


def test_webhook_events__filters_pages_and_unknown_connection(hub: Hub,
                                                              api_client: Any) -> None:
    _events(hub)
    with api_client(hub, role="integrator", scopes=()) as api:
        pages = _all_pages(api, "/webhook-events", connection="dingtalk", limit=2)
        ignored = api.get("/webhook-events", params={"status": "ignored"}).json()["items"]
        unknown = api.get("/webhook-events", params={"connection": "nope"})
    assert [[e["event_id"] for e in page] for page in pages] == [["e3", "e2"], ["e0"]]
    assert [e["event_id"] for e in ignored] == ["e2", "e1"]
    _assert_problem(unknown, 422)  # a filter naming no connection is a bad request
