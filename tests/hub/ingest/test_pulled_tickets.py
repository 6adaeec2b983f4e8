"""Tickets a pull brings from another helpdesk: upserted by external_ref through the import's
ticket writer, never duplicated on a re-pull, changes named field by field (SQLite and
PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from hub.errors import InvalidRequestError
from hub.ingest.pulled_tickets import upsert_tickets
from hub.ingest.targets import pull_target
from hub.runtime import Hub
from hub.store.models import Ticket


@pytest.fixture
def store(database_url: str, make_hub: Any) -> Any:
    hub: Hub = make_hub(database_url)
    yield hub
    hub.close()


def _ticket(ref: str, **fields: Any) -> dict[str, Any]:
    return {"external_ref": ref, "subject": "滤芯漏水", "status": "closed",
            "contact_mobile": "13800000007", "created_at": "2026-10-01T09:00:00+08:00",
            "satisfaction": 5, **fields}


def _tickets(hub: Hub) -> dict[str, Ticket]:
    with hub.sessions() as session:
        return {t.external_ref: t for t in session.scalars(sa.select(Ticket))
                if t.external_ref}


def test_upsert_tickets__created_then_unchanged_then_updated(store: Hub) -> None:
    with store.sessions.begin() as session:
        first = upsert_tickets(session, "zendesk", [_ticket("zd:1"), _ticket("zd:2")],
                               mapping="zd_ticket@1")
    rows = _tickets(store)
    assert sorted((t.id, t.external_id) for t in first.created) == sorted(
        (rows[ref].id, ref) for ref in ("zd:1", "zd:2"))
    row = rows["zd:1"]
    assert (row.subject, row.status, row.channel, row.enrichment_status) == (
        "滤芯漏水", "closed", "zendesk", "skipped")  # the channel defaults to the connection
    assert row.attributes == {"satisfaction": 5}
    with store.sessions.begin() as session:
        again = upsert_tickets(session, "zendesk", [_ticket("zd:1"), _ticket("zd:2")])
    assert (again.created, again.updated, again.unchanged) == ([], [], 2)
    with store.sessions.begin() as session:
        changed = upsert_tickets(session, "zendesk", [
            _ticket("zd:1", status="resolved", satisfaction=3), _ticket("zd:2")])
    assert [(t.id, t.external_id, fields) for t, fields in changed.updated] == [
        (row.id, "zd:1", ["status", "attributes"])]
    assert changed.unchanged == 1
    after = _tickets(store)
    assert len(after) == 2 and after["zd:1"].status == "resolved"
    assert after["zd:1"].attributes == {"satisfaction": 3}


def test_upsert_tickets__matches_an_imported_ticket_by_its_ref(store: Hub) -> None:
    """One ticket per ref, whoever stored it first (an import, another pull)."""
    with store.sessions.begin() as session:
        upsert_tickets(session, "legacy_import", [_ticket("zd:1")])
    with store.sessions.begin() as session:
        result = upsert_tickets(session, "zendesk", [_ticket("zd:1", subject="新主题")])
    # no channel mapped: each time the connection that stored it
    assert [fields for _, fields in result.updated] == [["subject", "channel"]]
    assert len(_tickets(store)) == 1


def test_upsert_tickets__a_ticket_without_a_ref_is_refused(store: Hub) -> None:
    with store.sessions.begin() as session, pytest.raises(
            InvalidRequestError, match="a ticket from 'zendesk' has no external_ref"):
        upsert_tickets(session, "zendesk", [{"subject": "无编号"}])


@pytest.mark.parametrize(("table", "entity"), [
    ("tickets", "ticket"), ("orders", "order"), ("interactions", "interaction"),
    ("customers", "customer"), ("articles", "article")])
def test_pull_target__every_pull_target_by_its_table(table: str, entity: str) -> None:
    assert pull_target(table).name == entity


def test_pull_target__an_unknown_table_names_the_known_ones() -> None:
    with pytest.raises(LookupError, match="customers, tickets, articles, orders, "
                                          "interactions"):
        pull_target("deliveries")
