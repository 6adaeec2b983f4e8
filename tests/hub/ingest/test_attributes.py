"""A field a mapping writes `attributes.<name>` lands in the record's attributes, under its
own name, whichever way in: a pull's upsert, an import by rows or by columns, a pulled
ticket (hub/core/attributes.py, hub/ingest/targets.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ruamel.yaml import YAML

from hub.customers.store import upsert_customers
from hub.ingest.pulled_tickets import upsert_tickets
from hub.ingest.writers import CustomerWriter
from hub.mapping import compile_mapping, parse_spec
from hub.runtime import Hub
from hub.store.models import Customer, Ticket

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 12, 1, tzinfo=UTC)
RECORD = {"id": "C1", "name": "王芳", "level": "金卡", "status": "正常", "tags": ["老客户"],
          "contact": {"mobile": "13812345678"}, "address": {"province": "浙江省", "city": "杭州市"},
          "updated_at": "2024-05-02 10:00:00"}


def _shipped(name: str) -> Any:
    spec = YAML(typ="safe").load((ROOT / f"mappings/{name}.yaml").read_text("utf-8"))
    return compile_mapping(parse_spec(spec), name=name)


@pytest.fixture
def store(database_url: str, make_hub: Any) -> Any:
    hub: Hub = make_hub(database_url)
    yield hub
    hub.close()


def test_a_pull_keeps_attributes_fields_by_their_own_name(store: Hub) -> None:
    entity = _shipped("crm_customer")(RECORD)
    assert entity["attributes"]["province"] == "浙江省"  # the mapping nests them
    with store.sessions.begin() as session:
        upsert_customers(session, "crm", [entity], mapping="crm_customer@1")
    with store.sessions.begin() as session:  # the same record again: unchanged
        again = upsert_customers(session, "crm", [entity], mapping="crm_customer@1")
    with store.sessions() as session:
        customer = session.scalars(sa.select(Customer)).one()
        assert (customer.mobile, customer.tier) == ("13812345678", "gold")
        assert customer.attributes == {"province": "浙江省", "city": "杭州市", "active": True,
                                       "tags": ["老客户"],
                                       "source_updated_at": "2024-05-02T10:00:00+08:00"}
    assert (again.created, again.updated, again.unchanged) == ([], [], 1)


def test_an_import_by_columns_writes_the_document_the_rows_write() -> None:
    names = ("external_id", "name", "attributes.city", "mobile", "attributes.balance")
    columns = [["C1", "C2"], ["甲", "乙"], ["杭州市", None], ["13812345678", None],
               [1, 2]]
    by_columns = CustomerWriter().prepare_columns(names, columns, source="import",
                                                  mapping="m@1", now=NOW)
    rows = [{"external_id": "C1", "name": "甲", "attributes": {"city": "杭州市", "balance": 1},
             "mobile": "13812345678"},
            {"external_id": "C2", "name": "乙", "attributes": {"city": None, "balance": 2},
             "mobile": None}]
    by_rows = CustomerWriter().prepare(rows, source="import", mapping="m@1", now=NOW)
    assert by_columns.pending == by_rows.pending
    values, _ = by_rows.pending["C1"]
    document = values[CustomerWriter.columns().index("attributes")]
    assert json.loads(document) == {"city": "杭州市", "balance": 1}


def test_a_pulled_ticket_keeps_attributes_fields_by_their_own_name(store: Hub) -> None:
    ticket = {"external_ref": "zd:1", "subject": "洗碗机不出水", "status": "open",
              "attributes": {"ticket_no": "T-1", "brand": "方太"}}
    with store.sessions.begin() as session:
        upsert_tickets(session, "zendesk", [ticket], mapping="zd_ticket@1")
    with store.sessions() as session:
        stored = session.scalars(sa.select(Ticket)).one()
        assert stored.attributes == {"ticket_no": "T-1", "brand": "方太"}
