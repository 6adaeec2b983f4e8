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
