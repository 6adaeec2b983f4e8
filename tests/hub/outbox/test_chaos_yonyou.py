"""Exactly once under chaos on YonBIP, as on Kingdee: money-only refunds (收款退款单) and parts
issues (其他出库单) written through 10 % HTTP 500, 5 % timeouts that act late (the gateway
does the write after the client gave up), 5 % lost responses, tokens that live 3 s, the
sandbox failing a tenth of the bills' list and detail lookups with 404 or a 5xx, and two
dispatchers killed with SIGKILL mid-run before a third finishes. Afterwards the tenant holds
one audited bill per key, no dead letter, no run left `running`, and reconciliation agrees.

The suite runs `TICKETS` tickets (2 bills each), 120 by default so it stays well under a
minute; `HUB_CHAOS_TICKETS=1000 scripts/chaos-yonyou` is the full 1,000 + 1,000 run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector
from connectors.yonyou.sandbox import APP_KEY, APP_SECRET, TENANT_ID, create_app
from hub.core.settings import Settings
from hub.outbox import Resolution
from hub.outbox.reconcile import reconcile
from hub.runtime import Hub
from hub.store.models import OutboxMessage, Run, Ticket
from hub.tickets import get_ticket
from hub.tickets.resolve import resolve_ticket

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
TICKETS = int(os.environ.get("HUB_CHAOS_TICKETS", "120"))
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
      org: "1001"
      warehouse: WH01
      timeout: 0.5
jobs:
  refunds:
    kind: writeback
    on: refund
    connection: yonyou
    action: refund.create
    mapping: yonyou_refund_bill
    retry: {{attempts: 60, backoff_initial: 0.05, backoff_max: 0.5}}
  parts:
    kind: writeback
    on: parts
    connection: yonyou
    action: parts.consume
    mapping: yonyou_parts_outbound
    retry: {{attempts: 60, backoff_initial: 0.05, backoff_max: 0.5}}
"""


@dataclass
class Chaos:
    hub: Hub
    app: Any
    faults: FaultInjector
    env: dict[str, str]
    started: datetime


@pytest.fixture
def chaos(tmp_path: Path) -> Iterator[Chaos]:
    app = create_app(latency_ms=0, token_ttl=3,
                     lookup_errors={"rate": 0.1, "statuses": [404, 500, 503], "seed": 5})
    faults = FaultInjector(app, seed=3)
    with serve(faults) as url:
        config = tmp_path / "hub.yaml"
        config.write_text(CONFIG.format(url=url, tenant=TENANT_ID, key=APP_KEY,
                                        secret=APP_SECRET), "utf-8")
        database_url = f"sqlite:///{tmp_path / 'hub.db'}"
        hub = Hub(Settings(database_url=database_url, config=config,
                           mappings_dir=ROOT / "mappings"))
        started = datetime.now(UTC) - timedelta(minutes=1)
        try:
            hub.upgrade_db()
            for n in range(1, TICKETS + 1):
                _resolve(hub, n)
            faults.chaos(error=0.10, timeout=0.05, lose=0.05, hang=1.0, status=500,
                         path_prefix="/iuap-api-gateway/", seed=5)
            env = {**os.environ, "HUB_DATABASE_URL": database_url, "HUB_CONFIG": str(config),
                   "HUB_MAPPINGS_DIR": str(ROOT / "mappings")}
            yield Chaos(hub, app, faults, env, started)
        finally:
            faults.reset()
            hub.close()


def _resolve(hub: Hub, n: int) -> None:
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        ticket = Ticket(subject=f"退款 {n}", description="", channel="api", created_at=now,
                        updated_at=now)
        session.add(ticket)
        session.flush()
        ticket_id = ticket.id
    resolution = Resolution.model_validate({
        "customer_number": f"C{n % 12 + 1:03d}",
        "refund": {"amount": f"{n % 300 + 1}.50", "method": "wire" if n % 3 else "cash"},
        "parts": [{"material": f"P-{1001 + n % 8}", "qty": str(n % 3 + 1),
                   **({"warehouse": "WH02"} if n % 4 == 0 else {})}]})
    assert len(resolve_ticket(hub, ticket_id, resolution, actor="test")) == 2


async def test_chaos__yonyou_bills_exactly_once_through_two_dispatcher_kills(
    chaos: Chaos, dispatch_through_kills: Any,
) -> None:
    # Of 2 * TICKETS rows: kill mid-run, twice.
    dispatch_through_kills(chaos.hub, chaos.env, (TICKETS // 2, TICKETS),
                           timeout=600)

    chaos.faults.reset()
    sandbox = chaos.app.state.sandbox
    for kind, code in (("arrefund", "RF1"), ("othout", "PT1")):
        ours = [b for b in sandbox.book.rows(kind) if str(b.get("code", "")).startswith("TK")]
        codes = [b["code"] for b in ours]
        assert len(codes) == TICKETS, f"{kind}: {len(codes)} bills for {TICKETS} tickets"
        assert len(set(codes)) == TICKETS, f"{kind}: a bill code twice"
        assert all(c.endswith(code) for c in codes)
        assert {b["status"] for b in ours} == {"1"}, f"{kind}: not all audited"
    with chaos.hub.sessions() as session:
        states = dict(session.execute(select(OutboxMessage.status, func.count())
                                      .group_by(OutboxMessage.status)).all())
        runs = dict(session.execute(select(Run.status, func.count()).where(
            Run.job == "outbox").group_by(Run.status)).all())
        ticket_ids = list(session.scalars(select(Ticket.id)))
    assert states == {"done": 2 * TICKETS}  # no dead letter
    assert "running" not in runs and runs.get("interrupted", 0) >= 2, runs
    for ticket_id in ticket_ids[:: max(1, TICKETS // 20)]:
        numbers = {w.number for w in get_ticket(chaos.hub, ticket_id).writebacks}
        assert numbers == {f"TK{ticket_id:06d}-RF1", f"TK{ticket_id:06d}-PT1"}
    injected = {r.fault for r in chaos.faults.requests() if r.fault}
    assert {"chaos error", "chaos timeout", "chaos lose"} <= injected, injected
    assert sandbox.lookup_errors.injected > 0  # lookups failed, and no write died of it
    assert sandbox.auth.token_calls > 2  # tokens died every 3 s and were renewed

    sandbox.configure({"lookup_errors": None})
    report = await reconcile(chaos.hub, since=chaos.started)
    assert report.ok, report.findings[:5]
    assert report.matched == 2 * TICKETS
