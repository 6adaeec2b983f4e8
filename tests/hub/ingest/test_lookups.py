"""Mappings with lookups and versions in the hub: batched against the store and the CRM,
and every written row records the mapping version that produced it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.config.mapping_files import MappingLibrary
from hub.errors import ConfigFileError
from hub.ingest.lookups import resolve_lookups
from hub.mapping import RecordMappingError
from hub.runtime import Hub
from hub.store.models import AuditRecord, Customer, Run
from hub.sync import run_pull

ROOT = Path(__file__).resolve().parents[3]


def _mappings(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", folder)
    for name, body in files.items():
        (folder / f"{name}.yaml").write_text(body, encoding="utf-8")
    return folder


ORDER = """
version: 2
lookups:
  customer: {entity: customer, by: mobile, return: id}
  crm: {connection: crm, reference: customer, by: id, return: name, on_missing: "null"}
fields:
  customer_id: {path: phone, type: mobile, lookup: customer, required: true}
  crm_name: {path: crm_id, lookup: crm}
"""


@pytest.fixture
def lookup_hub(database_url: str, crm_sandbox: Any, tmp_path: Path, make_hub: Any,
               monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    hub = make_hub(database_url, mappings_dir=_mappings(tmp_path, order=ORDER))
    yield hub
    hub.close()


async def test_lookups__resolved_in_one_batch_each(lookup_hub: Hub, crm_sandbox: Any) -> None:
    await run_pull(lookup_hub, "crm_customers")
    vendor = crm_sandbox.state.customers[:2]
    with lookup_hub.sessions() as session:
        stored = {c.external_id: c for c in session.scalars(sa.select(Customer))}
    mapping = lookup_hub.mappings.get("order")
    records = [{"phone": f"+86 {stored[v['id']].mobile}", "crm_id": v["id"]} for v in vendor]
    records.append({"phone": stored[vendor[0]["id"]].mobile, "crm_id": "C999999"})
    records.append({"phone": stored[vendor[1]["id"]].mobile, "crm_id": vendor[1]["id"]})
    crm_sandbox.state.requests.clear()

    tables = await resolve_lookups(lookup_hub, mapping, records, actor="test")

    assert tables is not None
    out = [mapping(record, lookups=tables) for record in records]
    expected = [{"customer_id": stored[v["id"]].id, "crm_name": v["name"]} for v in vendor]
    assert out == [*expected, {"customer_id": expected[0]["customer_id"], "crm_name": None},
                   expected[1]]
    fetched = sorted(r["path"].rsplit("/", 1)[-1] for r in crm_sandbox.state.requests)
    assert fetched == sorted([vendor[0]["id"], vendor[1]["id"], "C999999"])  # once per key


async def test_lookups__missing_customer_fails_the_row_masked(lookup_hub: Hub) -> None:
    mapping = lookup_hub.mappings.get("order")
    records = [{"phone": "13000000000"}]

    tables = await resolve_lookups(lookup_hub, mapping, records, actor="test")

    with pytest.raises(RecordMappingError) as caught:
        mapping(records[0], lookups=tables)
    assert caught.value.errors[0].rule == "lookup customer"
    assert "13000000000" not in str(caught.value)


def test_lookups__entity_attribute_must_be_known(tmp_path: Path) -> None:
    body = "lookups:\n  c: {entity: customer, by: shoe_size}\nfields:\n  a: {path: a, lookup: c}\n"
    (tmp_path / "bad.yaml").write_text(body, encoding="utf-8")

    with pytest.raises(ConfigFileError) as caught:
        MappingLibrary(tmp_path).get("bad")

    assert "line 2" in str(caught.value)
    assert "looked up by id, external_id, mobile, email, name, not 'shoe_size'" in str(caught.value)


async def test_versions__rows_runs_and_audit_record_the_mapping(
    database_url: str, crm_sandbox: Any, tmp_path: Path, make_hub: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    folder = _mappings(tmp_path)
    hub = make_hub(database_url, mappings_dir=folder)
    try:
        await run_pull(hub, "crm_customers")
        with hub.sessions() as session:
            assert set(session.scalars(sa.select(Customer.mapping))) == {"crm_customer@1"}
            assert session.scalars(sa.select(Run.mapping)).one() == "crm_customer@1"
            created = session.scalars(sa.select(AuditRecord).where(
                AuditRecord.action == "customer.create")).first()
            assert created is not None and created.detail["mapping"] == "crm_customer@1"
    finally:
        hub.close()

    text = (folder / "crm_customer.yaml").read_text(encoding="utf-8")
    (folder / "crm_customer.yaml").write_text(text.replace("version: 1", "version: 2"),
                                              encoding="utf-8")
    hub = make_hub(database_url, mappings_dir=folder)
    try:
        crm_sandbox.state.update_customer("C000010", {"level": "钻石"})
        summary = await run_pull(hub, "crm_customers")
        with hub.sessions() as session:
            labels = dict(session.execute(sa.select(Customer.external_id, Customer.mapping)).all())
        assert labels["C000010"] == "crm_customer@2"
        assert summary.updated >= 1
    finally:
        hub.close()


async def test_filter__skipped_rows_are_counted_not_rejected(
    database_url: str, crm_sandbox: Any, tmp_path: Path, make_hub: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    text = (ROOT / "mappings/crm_customer.yaml").read_text(encoding="utf-8")
    folder = _mappings(tmp_path, crm_customer=text.replace(
        "fields:", "filter: \"level != '钻石'\"\nfields:", 1))
    hub = make_hub(database_url, mappings_dir=folder)
    try:
        summary = await run_pull(hub, "crm_customers")
        diamonds = sum(1 for c in crm_sandbox.state.customers if c["level"] == "钻石")
        assert diamonds > 0
        assert summary.skipped == diamonds and summary.rejected == 0
        assert summary.created == len(crm_sandbox.state.customers) - diamonds
    finally:
        hub.close()
