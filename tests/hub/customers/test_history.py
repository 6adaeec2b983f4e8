"""Orders and interactions that separate pulls store: upserted by (source, external_id),
unchanged rows counted and left alone, changes named field by field, rows linked to the
customer of the same source by external id (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from hub.customers.history import (
    linked_customers,
    stored_history,
    upsert_interactions,
    upsert_orders,
)
from hub.customers.store import upsert_customers
from hub.errors import InvalidRequestError
from hub.runtime import Hub
from hub.store.models import Interaction, Order


@pytest.fixture
def store(database_url: str, make_hub: Any) -> Any:
    hub: Hub = make_hub(database_url)
    yield hub
    hub.close()


def _order(external_id: str, customer: str = "C1", **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "customer_external_id": customer,
            "order_no": f"SO-{external_id}", "ordered_at": f"2026-10-0{external_id[-1]}",
            "total": Decimal("99.50"), "status": "已签收",
            "items": [{"sku": "P-1", "qty": 2}], **fields}


def _orders(hub: Hub) -> dict[tuple[str, str], Order]:
    with hub.sessions() as session:
        return {(o.source, o.external_id): o for o in session.scalars(sa.select(Order))}


def test_upsert_orders__stored_with_lines_source_and_customer(store: Hub) -> None:
    with store.sessions.begin() as session:
        result = upsert_orders(session, "homecrm", [_order("O1"), _order("O2", "C2")],
                               mapping="homecrm_order@1")
    rows = _orders(store)
    assert [(r.id, r.external_id) for r in result.created] == [
        (rows["homecrm", "O1"].id, "O1"), (rows["homecrm", "O2"].id, "O2")]
    row = rows["homecrm", "O1"]
    assert (row.customer_external_id, row.mapping) == ("C1", "homecrm_order@1")
    assert row.item == {"external_id": "O1", "order_no": "SO-O1", "ordered_at": "2026-10-01",
                        "total": "99.50", "status": "已签收",
                        "items": [{"sku": "P-1", "qty": 2}]}
    assert len(row.content_hash) == 64 and row.updated_at == row.created_at


def test_upsert_orders__re_pull_counts_unchanged_and_names_changed_fields(store: Hub) -> None:
    with store.sessions.begin() as session:
        upsert_orders(session, "homecrm", [_order("O1"), _order("O2")], mapping="m@1")
    first = _orders(store)["homecrm", "O1"]
    with store.sessions.begin() as session:
        again = upsert_orders(session, "homecrm", [_order("O1"), _order("O2")], mapping="m@1")
    assert (again.created, again.updated, again.unchanged) == ([], [], 2)
    with store.sessions.begin() as session:
        changed = upsert_orders(session, "homecrm", [
            _order("O1", "C9", total=Decimal("80.00"), items=[{"sku": "P-1", "qty": 1}]),
            _order("O2")], mapping="m@1")
    [(row, fields)] = changed.updated
    assert (row.external_id, fields) == ("O1", ["customer_external_id", "items", "total"])
    assert changed.unchanged == 1
    rows = _orders(store)
    assert len(rows) == 2 and rows["homecrm", "O1"].id == first.id
    assert rows["homecrm", "O1"].item["total"] == "80.00"
    assert rows["homecrm", "O1"].customer_external_id == "C9"
    assert rows["homecrm", "O1"].updated_at > first.updated_at


def test_upsert_orders__a_new_mapping_version_is_an_update(store: Hub) -> None:
    with store.sessions.begin() as session:
        upsert_orders(session, "homecrm", [_order("O1")], mapping="m@1")
    with store.sessions.begin() as session:
        result = upsert_orders(session, "homecrm", [_order("O1")], mapping="m@2")
    assert [(row.external_id, fields) for row, fields in result.updated] == [
        ("O1", ["mapping"])]


def test_upsert_orders__external_ids_are_unique_per_source_only(store: Hub) -> None:
    with store.sessions.begin() as session:
        upsert_orders(session, "homecrm", [_order("O1")])
        other = upsert_orders(session, "shop", [_order("O1")])
    assert len(other.created) == 1 and set(_orders(store)) == {("homecrm", "O1"),
                                                               ("shop", "O1")}


def test_upsert_orders__a_page_repeating_a_record_keeps_the_last(store: Hub) -> None:
    with store.sessions.begin() as session:
        result = upsert_orders(session, "homecrm", [_order("O1"), _order("O1", status="已退款")])
    assert len(result.created) == 1
    assert _orders(store)["homecrm", "O1"].item["status"] == "已退款"


@pytest.mark.parametrize(("entity", "message"), [
    ({"customer_external_id": "C1"}, "order from 'homecrm' has no external_id"),
    ({"external_id": "O1", "customer_external_id": " "},
     "order 'O1' from 'homecrm' has no customer_external_id"),
])
def test_upsert_orders__a_record_without_its_keys_is_refused(
        store: Hub, entity: dict[str, Any], message: str) -> None:
    with store.sessions.begin() as session, pytest.raises(InvalidRequestError, match=message):
        upsert_orders(session, "homecrm", [entity])


def test_stored_history__newest_first_linked_by_source_and_customer(store: Hub) -> None:
    calls = [{"external_id": f"I{n}", "customer_external_id": "C1", "channel": "phone",
              "at": f"2026-10-2{n}T15:00:00+08:00"} for n in (1, 3, 2)]
    with store.sessions.begin() as session:
        upsert_orders(session, "homecrm", [_order("O1"), _order("O3"), _order("O2"),
                                           _order("O4", "C2")])
        upsert_orders(session, "shop", [_order("O5")])
        upsert_interactions(session, "homecrm", calls)
    with store.sessions() as session:
        found = stored_history(session, source="homecrm", customer_external_id="C1",
                               kinds=["orders", "interactions", "deliveries"])
    assert set(found) == {"orders", "interactions"}
    assert [s.item["external_id"] for s in found["orders"]] == ["O3", "O2", "O1"]
    assert [s.item["external_id"] for s in found["interactions"]] == ["I3", "I2", "I1"]
    assert all(s.stored_at.tzinfo is UTC and s.stored_at <= datetime.now(UTC)
               for s in found["orders"])
    with store.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Interaction)) == 3


def test_linked_customers__those_of_the_source_stored_yet(store: Hub) -> None:
    with store.sessions.begin() as session:
        created = upsert_customers(session, "homecrm", [{"external_id": "C1", "name": "甲"}])
        upsert_customers(session, "shop", [{"external_id": "C2", "name": "乙"}])
    with store.sessions() as session:
        assert linked_customers(session, source="homecrm",
                                external_ids=["C1", "C2", "C3"]) == [created.created[0].id]
