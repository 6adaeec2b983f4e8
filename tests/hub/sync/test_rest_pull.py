"""A CRM connected only through YAML (`rest` connector) pulls through the hub, incrementally."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.store.models import Customer, SyncState
from hub.sync import run_pull

ROOT = Path(__file__).resolve().parents[3]


async def test_rest_pull__paged_incremental_customers_from_yaml_only(
    crm_sandbox: Any, database_url: str, make_hub: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    hub = make_hub(database_url, config=ROOT / "configs/examples/rest_crm.yaml")
    first = await run_pull(hub, "crm_customers")
    assert (first.created, first.pages) == (120, 1)
    changed = crm_sandbox.state.update_customer("C000042", {"name": "换了名字"})
    second = await run_pull(hub, "crm_customers")
    assert (second.created, second.updated) == (0, 1)
    assert second.read <= 3
    with hub.sessions() as session:
        stored = session.scalars(sa.select(Customer).where(
            Customer.external_id == changed["id"])).one()
        assert stored.name == "换了名字"
        assert changed["updated_at"] in (session.get_one(SyncState, "crm_customers").state or "")
    hub.close()


async def test_rest_pull__a_listing_that_may_have_stopped_early_warns_on_the_run(
    crm_sandbox: Any, database_url: str, make_hub: Any, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A paginator pointed at the wrong field ends the walk after a full first page: the run
    says so (API and `hub runs show`) instead of silently storing 100 of 120 customers."""
    from hub.cli.render.runs import run_panel
    from hub.jobs.run_queries import get_run

    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    text = (ROOT / "configs/examples/rest_crm.yaml").read_text(encoding="utf-8")
    text = text.replace("params: {limit: 200}", "params: {limit: 100}").replace(
        "cursor_path: next_cursor", "cursor_path: paging.next").replace(
        "            has_more_path: has_more\n", "")
    config = tmp_path / "hub.yaml"
    config.write_text(text, encoding="utf-8")
    hub = make_hub(database_url, config=config)
    summary = await run_pull(hub, "crm_customers")
    assert (summary.status, summary.read, summary.pages) == ("succeeded", 100, 1)
    [warning] = get_run(hub, summary.run_id).warnings
    assert "ended on its first page, which was full (100 records)" in warning
    assert "cursor paginator" in warning and "records may be missing" in warning
    from io import StringIO

    from rich.console import Console

    shown = StringIO()
    Console(file=shown, width=200).print(run_panel(get_run(hub, summary.run_id)))
    assert "Warning" in shown.getvalue() and "records may be missing" in shown.getvalue()
    hub.close()
