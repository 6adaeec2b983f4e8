"""A pull's page upsert at the driver level: what it writes reads back as the ORM wrote it,
changes are found field by field, and a row under another hash is not a change."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from hub.core.jsonable import canonical_json
from hub.customers.store import upsert_customers, upsert_external_records
from hub.runtime import Hub
from hub.store.models import Customer, ExternalRecord


@pytest.fixture
def store(database_url: str, make_hub: Any) -> Any:
    hub: Hub = make_hub(database_url)
    yield hub
    hub.close()


def _customer(external_id: str, **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": "张三", "company": "甲公司",
            "mobile": "13800000001", "email": "z@example.com", "tier": "gold",
            "tags": ["a", "b"], "since": date(2024, 5, 1),
            "seen": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "credit": Decimal("1.50"),
            **fields}


def test_upsert__rows_read_back_as_written(store: Hub) -> None:
    with store.sessions.begin() as session:
        result = upsert_customers(session, "crm", [_customer("C1"), _customer("C2")],
                                  mapping="crm_customer@1")
    with store.sessions() as session:
        rows = {c.external_id: c for c in session.scalars(sa.select(Customer))}
    assert [(c.id, c.external_id) for c in result.created] == \
        [(rows["C1"].id, "C1"), (rows["C2"].id, "C2")]
    row = rows["C1"]
    assert (row.name, row.company, row.mobile, row.email, row.tier, row.mapping) == \
        ("张三", "甲公司", "13800000001", "z@example.com", "gold", "crm_customer@1")
    assert row.attributes == {"tags": ["a", "b"], "since": "2024-05-01",
                              "seen": "2026-01-02T03:04:05+00:00", "credit": "1.50"}
    assert row.created_at.year >= 2026 and row.updated_at == row.created_at


def test_upsert__second_page_unchanged_then_changed_fields_named(store: Hub) -> None:
    with store.sessions.begin() as session:
        upsert_customers(session, "crm", [_customer("C1"), _customer("C2")], mapping="m@1")
    with store.sessions.begin() as session:
        again = upsert_customers(session, "crm", [_customer("C1"), _customer("C2")],
                                 mapping="m@1")
    assert (again.created, again.updated, again.unchanged) == ([], [], 2)
    with store.sessions.begin() as session:
        loaded = session.scalars(sa.select(Customer).where(Customer.external_id == "C1")).one()
        changed = upsert_customers(session, "crm", [
            _customer("C1", name="李四", tags=["a"]), _customer("C2")], mapping="m@1")
        assert loaded.name == "李四"  # a row the session had loaded is not left stale
    assert [(ref.external_id, fields) for ref, fields in changed.updated] == \
        [("C1", ["name", "tags"])]
    assert changed.unchanged == 1


def test_upsert__same_content_under_another_hash_is_unchanged(store: Hub) -> None:
    """Rows hashed before (another hash function, or an import's) are compared by value:
    equal, they only get the new hash, and count as unchanged, not as updates."""
    with store.sessions.begin() as session:
        upsert_customers(session, "crm", [_customer("C1"), _customer("C2")], mapping="m@1")
        session.execute(sa.update(Customer).values(content_hash="an-older-hash"))
    with store.sessions.begin() as session:
        result = upsert_customers(session, "crm", [_customer("C1"), _customer("C2", tier="vip")],
                                  mapping="m@1")
    assert result.unchanged == 1 and result.created == []
    assert [(ref.external_id, fields) for ref, fields in result.updated] == [("C2", ["tier"])]
    with store.sessions() as session:
        assert "an-older-hash" not in set(session.scalars(sa.select(Customer.content_hash)))
    with store.sessions.begin() as session:
        assert upsert_customers(session, "crm", [_customer("C1")], mapping="m@1").unchanged == 1


def test_upsert__a_new_mapping_version_is_a_change(store: Hub) -> None:
    with store.sessions.begin() as session:
        upsert_customers(session, "crm", [_customer("C1")], mapping="m@1")
    with store.sessions.begin() as session:
        result = upsert_customers(session, "crm", [_customer("C1")], mapping="m@2")
    assert [fields for _ref, fields in result.updated] == [["mapping"]]


def test_external_records__payload_kept_and_replaced_when_it_changes(store: Hub) -> None:
    def stored() -> dict[str, tuple[dict[str, Any], str]]:
        with store.sessions() as session:
            return {r.external_id: (r.payload, r.content_hash)
                    for r in session.scalars(sa.select(ExternalRecord))}

    records = [{"id": "C1", "name": "张三", "n": 1}, {"id": "C2", "name": "李四", "n": 2}]
    with store.sessions.begin() as session:
        upsert_external_records(session, source="crm", stream="customers", key="id",
                                records=records)
    first = stored()
    assert first["C1"][0] == records[0]
    with store.sessions.begin() as session:
        upsert_external_records(session, source="crm", stream="customers", key="id",
                                records=[records[0], {**records[1], "n": 3}])
    second = stored()
    assert second["C1"] == first["C1"]
    assert second["C2"][0]["n"] == 3 and second["C2"][1] != first["C2"][1]


@pytest.mark.parametrize("value", [
    {"b": 1, "a": [1, 2.5, None, True, "中文"], "c": {"z": "\n\"", "y": 1e16}},
    ["x", {"k": -0.0}], "plain", 3, None,
])
def test_canonical_json__the_same_text_as_json_dumps(value: Any) -> None:
    assert canonical_json(value) == json.dumps(value, ensure_ascii=False, sort_keys=True,
                                               separators=(",", ":"))
