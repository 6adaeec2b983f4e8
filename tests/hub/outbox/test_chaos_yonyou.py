"""Exactly once under chaos on YonBIP: refunds (sales returns) and parts issues written through
10% HTTP 500, 5% timeouts, 5% lost responses and tokens expiring every few seconds; afterwards
one audited bill per key, and every ticket shows its bill codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector
from connectors.yonyou.sandbox import APP_KEY, APP_SECRET, TENANT_ID, create_app
from hub.core.settings import Settings
from hub.outbox import DispatchOptions, Resolution, dispatch
from hub.outbox.views import list_rows
from hub.runtime import Hub
from hub.store.models import Ticket
from hub.tickets import get_ticket
from hub.tickets.resolve import resolve_ticket

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
TICKETS = 200
CONFIG = """
version: 1
connections:
  yonyou:
    type: yonyou
    config:
      base_url: {url}
      tenant_id: {tenant}
      app_key: {key}
      app_secret: {secret}
      timeout: 0.5
jobs:
  refunds:
    kind: writeback
    on: refund
    connection: yonyou
    action: refund.create
    mapping: yonyou_sales_return
    retry: {{attempts: 60, backoff_initial: 0.05, backoff_max: 0.5}}
  parts:
    kind: writeback
    on: parts
    connection: yonyou
    action: parts.consume
    mapping: yonyou_parts_outbound
    retry: {{attempts: 60, backoff_initial: 0.05, backoff_max: 0.5}}
"""


async def test_chaos__yonyou_bills_exactly_once(tmp_path: Path) -> None:
    app = create_app(latency_ms=0, token_ttl=3)
    faults = FaultInjector(app, seed=3)
    with serve(faults) as url:
        config = tmp_path / "hub.yaml"
        config.write_text(CONFIG.format(url=url, tenant=TENANT_ID, key=APP_KEY,
                                        secret=APP_SECRET))
        hub = Hub(Settings(database_url=f"sqlite:///{tmp_path / 'hub.db'}", config=config,
                           mappings_dir=ROOT / "mappings"))
        try:
            hub.upgrade_db()
            ids = [_resolve(hub, n) for n in range(1, TICKETS + 1)]
            faults.chaos(error=0.10, timeout=0.05, lose=0.05, hang=1.0, status=500,
                         path_prefix="/iuap-api-gateway/", seed=5)
            summary = await dispatch(hub, options=DispatchOptions(concurrency=8))
            faults.reset()
            book = app.state.sandbox.book
            assert summary.dead == 0, list_rows(hub, status="dead").items[:3]
            for kind, code in (("salereturn", "RF1"), ("othout", "PT1")):
                codes = [bill["code"] for bill in book.bills[kind].values()]
                assert sorted(codes) == sorted(f"TK{i:06d}-{code}" for i in ids), kind
            assert {b["verifystate"] for b in book.bills["salereturn"].values()} == {"2"}
            for ticket_id in ids[::20]:
                numbers = {w.number for w in get_ticket(hub, ticket_id).writebacks}
                assert numbers == {f"TK{ticket_id:06d}-RF1", f"TK{ticket_id:06d}-PT1"}
            assert {"chaos error", "chaos timeout", "chaos lose"} <= {
                r.fault for r in faults.requests() if r.fault}
        finally:
            hub.close()


def _resolve(hub: Hub, n: int) -> int:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        ticket = Ticket(subject=f"退货 {n}", description="", channel="api", created_at=now,
                        updated_at=now)
        session.add(ticket)
        session.flush()
        ticket_id = ticket.id
    resolution = Resolution.model_validate({
        "customer_number": f"C{n % 12 + 1:03d}",
        "refund": {"amount": "20.00", "lines": [
            {"amount": "20.00", "material": f"P-{1001 + n % 8}", "qty": "1"}]},
        "parts": [{"material": f"P-{1001 + n % 8}", "qty": "1"}]})
    assert len(resolve_ticket(hub, ticket_id, resolution, actor="test")) == 2
    return ticket_id
