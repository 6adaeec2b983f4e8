"""Pull jobs against the CRM sandbox on real stores: incremental, resumable, audited."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hub.errors import JobFailedError
from hub.runtime import Hub
from hub.store.models import AuditRecord, Customer, ExternalRecord, Run, RunSlice, SyncState
from hub.sync import run_pull

ROOT = Path(__file__).resolve().parents[3]


def config_with_page_size(tmp_path: Path, page_size: int) -> Path:
    text = (ROOT / "configs/hub.yaml").read_text(encoding="utf-8")
    path = tmp_path / "hub.yaml"
    path.write_text(text.replace("page_size: 200", f"page_size: {page_size}"), encoding="utf-8")
    return path


def customers(hub: Hub) -> dict[str, Customer]:
    with hub.sessions() as session:
        return {c.external_id: c for c in session.scalars(sa.select(Customer))}


def runs(hub: Hub) -> list[Run]:
    with hub.sessions() as session:
        return list(session.scalars(sa.select(Run).order_by(Run.id)))


async def test_pull__first_run_stores_every_customer_mapped(hub: Hub, crm_sandbox: Any) -> None:
    summary = await run_pull(hub, "crm_customers")
    stored = customers(hub)
    assert summary.status == "succeeded"
    assert summary.created == len(stored) == len(crm_sandbox.state.customers) == 120
    vendor = crm_sandbox.state.customers[0]
    mine = stored[vendor["id"]]
    assert mine.name == vendor["name"]
    assert mine.tier in {"standard", "silver", "gold", "vip"}
    assert mine.mobile is not None and mine.mobile.isdigit() and len(mine.mobile) == 11
    with hub.sessions() as session:
        raw = session.scalars(sa.select(ExternalRecord).where(
            ExternalRecord.external_id == vendor["id"])).one()
        assert raw.payload["id"] == vendor["id"]


async def test_pull__second_run_pulls_only_what_changed(hub: Hub, crm_sandbox: Any) -> None:
    await run_pull(hub, "crm_customers")
    changed = crm_sandbox.state.update_customer("C000010", {"level": "钻石"})
    summary = await run_pull(hub, "crm_customers")
    assert summary.updated == 1 and summary.created == 0
    assert summary.read < 5  # the changed record and a few boundary repeats, not all 120
    assert customers(hub)[changed["id"]].tier == "vip"
    with hub.sessions() as session:
        assert session.get_one(SyncState, "crm_customers").state == changed["updated_at"]


async def test_pull__unchanged_source_changes_nothing(hub: Hub) -> None:
    await run_pull(hub, "crm_customers")
    summary = await run_pull(hub, "crm_customers")
    assert (summary.created, summary.updated) == (0, 0)


async def test_pull__bad_records_are_rejected_and_the_rest_lands(
    hub: Hub, crm_sandbox: Any
) -> None:
    bad = crm_sandbox.state.update_customer(
        "C000005", {"contact": {"mobile": "12345", "email": None}})
    summary = await run_pull(hub, "crm_customers")
    assert summary.status == "partial"
    assert summary.rejected == 1 and summary.created == 119
    run = runs(hub)[-1]
    assert run.errors is not None
    [error] = run.errors["records"]
    assert error["record"] == bad["id"]
    assert "mapping 'crm_customer'" in error["error"] and "field 'mobile'" in error["error"]


async def test_pull__wrong_api_key_fails_clearly_and_records_the_run(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, make_hub: Any, database_url: str,
    audit_text: Any,
) -> None:
    monkeypatch.setenv("CRM_API_KEY", "not-the-key-0000")
    wrong = make_hub(database_url)
    with pytest.raises(JobFailedError) as caught:
        await run_pull(wrong, "crm_customers")
    message = str(caught.value)
    assert "API key is missing or invalid (HTTP 401 invalid_api_key)" in message
    assert "not-the-key-0000" not in message
    run = runs(wrong)[-1]
    assert run.status == "failed" and "invalid_api_key" in (run.error or "")
    assert "not-the-key-0000" not in audit_text(wrong)
    wrong.close()


async def test_pull__sandbox_outage_mid_stream_keeps_committed_pages(
    tmp_path: Path, crm_sandbox: Any, monkeypatch: pytest.MonkeyPatch, make_hub: Any,
    database_url: str,
) -> None:
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    hub = make_hub(database_url, config=config_with_page_size(tmp_path, 30))
    # Page 1 succeeds; then the CRM fails every retry of page 2.
    hub.config.connection_configs["crm"]  # noqa: B018 -- config loaded before the fault
    await run_pull(hub, "crm_customers")
    crm_sandbox.state.update_customer("C000001", {"name": "改名一"})
    crm_sandbox.state.update_customer("C000002", {"name": "改名二"})
    httpx.post(f"{crm_sandbox.url}/_sandbox/faults",
               json={"status": 503, "count": 10}).raise_for_status()
    with pytest.raises(JobFailedError, match="HTTP 503"):
        await run_pull(hub, "crm_customers")
    httpx.delete(f"{crm_sandbox.url}/_sandbox/faults").raise_for_status()
    summary = await run_pull(hub, "crm_customers")
    assert summary.updated == 2
    assert customers(hub)["C000002"].name == "改名二"
    hub.close()


async def test_pull__secrets_never_reach_the_audit_log(
    hub: Hub, crm_sandbox: Any, audit_text: Any
) -> None:
    await run_pull(hub, "crm_customers")
    text = audit_text(hub)
    assert "http.call" in text and "customer.create" in text
    assert crm_sandbox.api_key not in text
    assert hub.audit.verify().ok


async def test_pull__every_call_is_audited_retries_included(
    database_url: str, crm_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    make_hub: Any,
) -> None:
    """The calls' audit rows are written on the part's writer thread, beside its pages:
    none may be lost or doubled, a failed attempt's included."""
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    hub = make_hub(database_url, config=config_with_page_size(tmp_path, 30))
    httpx.post(f"{crm_sandbox.url}/_sandbox/faults",
               json={"status": 503, "count": 2}).raise_for_status()
    crm_sandbox.state.requests.clear()
    await run_pull(hub, "crm_customers")
    with hub.sessions() as session:
        audited = session.scalars(sa.select(sa.func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "http.call")).one()
    statuses = [entry["status"] for entry in crm_sandbox.state.requests]
    assert statuses.count(503) == 2 and len(statuses) >= 6  # 120 in pages of 30, plus ends
    assert audited == len(statuses)
    assert hub.audit.verify().ok
    hub.close()


def _hub_command(tmp_path: Path, database_url: str, sandbox: Any, page_size: int
                 ) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "HUB_DATABASE_URL": database_url,
           "HUB_CONFIG": str(config_with_page_size(tmp_path, page_size)),
           "HUB_MAPPINGS_DIR": str(ROOT / "mappings"),
           "CRM_BASE_URL": sandbox.url, "CRM_API_KEY": sandbox.api_key}
    return [sys.executable, "-m", "cli", "sync", "run", "crm_customers"], env


def _committed_pages(hub: Hub) -> int:
    """Pages committed by the latest run so far (its parts keep the counts until it ends)."""
    with hub.sessions() as session:
        run = session.scalars(sa.select(Run).order_by(Run.id.desc())).first()
        if run is None:
            return 0
        return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(RunSlice.pages), 0))
                                  .where(RunSlice.run_id == run.id)) or 0)


@pytest.mark.slow
def test_pull__killed_mid_run_resumes_with_no_duplicate_and_no_gap(
    tmp_path: Path, crm_sandbox: Any, database_url: str, make_hub: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    hub = make_hub(database_url, config=config_with_page_size(tmp_path, 10))
    httpx.post(f"{crm_sandbox.url}/_sandbox/faults",
               json={"count": 0, "latency_ms": 120}).raise_for_status()
    command, env = _hub_command(tmp_path, database_url, crm_sandbox, page_size=10)
    for kill_after_pages in (2, 6):  # two crashes at different points of the stream
        with subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) as process:
            deadline = time.monotonic() + 60
            while _committed_pages(hub) < kill_after_pages and process.poll() is None:
                assert time.monotonic() < deadline, "the sync made no progress"
                time.sleep(0.02)
            assert process.poll() is None, "the sync finished before it could be killed"
            process.send_signal(signal.SIGKILL)
        assert 0 < len(customers(hub)) < 120
    httpx.delete(f"{crm_sandbox.url}/_sandbox/faults").raise_for_status()
    finished = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
    assert finished.returncode == 0, finished.stderr

    stored = customers(hub)
    vendor = {c["id"]: c for c in crm_sandbox.state.customers}
    assert set(stored) == set(vendor)  # no gap
    with hub.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 120  # no dup
        assert session.scalar(sa.select(sa.func.count()).select_from(ExternalRecord)) == 120
    assert all(stored[i].name == vendor[i]["name"] for i in vendor)
    statuses = [r.status for r in runs(hub)]
    assert statuses == ["interrupted", "interrupted", "succeeded"]
    assert hub.audit.verify().ok
    hub.close()
