"""YonBIP as a further enrichment source, as configs/hub.yaml's comment says to add it: the
CRM finds the customer, YonBIP adds their sales orders and deliveries, found by the
customer's `erp_number` (a YonBIP code: the connector looks its id up, then filters the
order and delivery lists by that id, as those lists document). Both sandboxes on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.sdk.sandbox import serve
from connectors.yonyou.sandbox import create_app
from hub.sync import run_pull
from hub.tickets import TicketCreate, create_ticket

from .conftest import digits


@pytest.fixture
def yonyou_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    app = create_app(latency_ms=0)
    with serve(app) as url:
        monkeypatch.setenv("YONYOU_GATEWAY_LOOKUP_URL", url)
        yield app.state.sandbox


async def test_sources__yonyou_orders_and_deliveries_join_the_ticket(
    enrich_hub: Any, crm_sandbox: Any, yonyou_sandbox: Any, erp_mappings: Any,
) -> None:
    hub = enrich_hub(mappings_dir=erp_mappings,
                     sources=[{"connection": "yonyou", "key": "erp_number"}])
    vendor: dict[str, Any] = crm_sandbox.state.customers[7]
    crm_sandbox.state.update_customer(vendor["id"], {"erp_code": "C002"})
    await run_pull(hub, "crm_customers")
    ticket = await create_ticket(hub, TicketCreate(
        subject="换货", contact_mobile=digits(vendor["contact"]["mobile"])), actor="test")

    assert ticket.enrichment_status == "enriched", ticket.enrichment_error
    assert [(s.connection, s.status) for s in ticket.sources] == [("crm", "ok"),
                                                                  ("yonyou", "ok")]
    assert ticket.history is not None
    wanted = sorted(o["code"] for o in yonyou_sandbox.seed.orders if o["agentId_code"] == "C002")
    got = sorted(o.model_dump()["code"] for o in ticket.history.orders if o.source == "yonyou")
    assert got == wanted and wanted  # C002 has orders in the seed
    assert [d for d in ticket.history.deliveries if d.source == "yonyou"]
