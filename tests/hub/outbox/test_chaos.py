"""Exactly once under chaos: 1,000 refunds and 1,000 parts bills against a Kingdee sandbox that
fails 10% of calls with HTTP 500, times out 5%, loses 5% of responses after acting on them and
expires every session every few seconds — in process, and with the dispatcher killed (SIGKILL)
and restarted twice. Afterwards the ERP holds exactly 2,000 bills, each audited, no key twice,
and every ticket shows its bill numbers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.kingdee.sandbox import create_app
from connectors.kingdee.sandbox.auth import Credentials
from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector
from hub.core.settings import Settings
from hub.outbox import DispatchOptions, Resolution, dispatch
from hub.runtime import Hub
from hub.store.models import OutboxMessage, Ticket
from hub.tickets import get_ticket
from hub.tickets.resolve import resolve_ticket

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
TICKETS = 1000
CONFIG = """
version: 1
connections:
  kingdee:
    type: kingdee
    config:
      base_url: {url}/k3cloud/
      acct_id: {acct_id}
      username: {username}
      auth: password
      password: "{password}"
      timeout: 0.5
jobs:
  erp_refunds:
    kind: writeback
    on: refund
    connection: kingdee
    action: refund.create
    mapping: kingdee_refund_bill
    org: "100"
    retry: {{attempts: 60, backoff_initial: 0.05, backoff_max: 0.5}}
  erp_parts:
    kind: writeback
    on: parts
    connection: kingdee
    action: parts.consume
    mapping: kingdee_parts_outbound
    org: "100"
    retry: {{attempts: 60, backoff_initial: 0.05, backoff_max: 0.5}}
"""


@dataclass
class Chaos:
    hub: Hub
    sandbox: Any
    faults: FaultInjector
    env: dict[str, str]


@pytest.fixture
def chaos(tmp_path: Path) -> Iterator[Chaos]:
    app = create_app(latency_ms=0, expire_every=3.0)
    faults = FaultInjector(app, seed=7)
    with serve(faults) as url:
        creds = Credentials()
        config = tmp_path / "hub.yaml"
        config.write_text(CONFIG.format(url=url, acct_id=creds.acct_id,
                                        username=creds.username, password=creds.password))
        database_url = f"sqlite:///{tmp_path / 'hub.db'}"
        hub = Hub(Settings(database_url=database_url, config=config,
                           mappings_dir=ROOT / "mappings"))
        hub.upgrade_db()
        _resolve_tickets(hub)
        faults.chaos(error=0.10, timeout=0.05, lose=0.05, hang=1.0, status=500,
                     path_prefix="/k3cloud/", seed=11)
        env = {**os.environ, "HUB_DATABASE_URL": database_url, "HUB_CONFIG": str(config),
               "HUB_MAPPINGS_DIR": str(ROOT / "mappings")}
        try:
            yield Chaos(hub, app.state.sandbox, faults, env)
        finally:
            faults.reset()
            hub.close()


def _resolve_tickets(hub: Hub) -> None:
    for n in range(1, TICKETS + 1):
        with hub.sessions.begin() as session:
            ticket = Ticket(subject=f"故障 {n}", description="", channel="api",
                            created_at=_now(), updated_at=_now())
            session.add(ticket)
            session.flush()
            ticket_id = ticket.id
        resolution = Resolution.model_validate({
            "customer_number": f"C{n % 50 + 1:03d}",
            "refund": {"amount": f"{n % 300 + 1}.50", "method": "wire" if n % 3 else "cash"},
            "parts": [{"material": f"P-{1001 + n % 100}", "qty": str(n % 3 + 1)}]})
        assert len(resolve_ticket(hub, ticket_id, resolution, actor="test")) == 2


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _assert_exactly_once(chaos: Chaos) -> None:
    chaos.faults.reset()
    bills = {form: chaos.sandbox.bills(form) for form in ("AR_REFUNDBILL", "STK_MisDelivery")}
    for form, records in bills.items():
        ours = [r for r in records if str(r.get("FBILLNO", "")).startswith("TK")]
        numbers = [r["FBILLNO"] for r in ours]
        assert len(numbers) == TICKETS, f"{form}: {len(numbers)} bills for {TICKETS} tickets"
        assert len(set(numbers)) == TICKETS, f"{form}: a bill number twice"
        assert {r.get("FDOCUMENTSTATUS") for r in ours} == {"C"}, f"{form}: not all audited"
    with chaos.hub.sessions() as session:
        states = dict(session.execute(select(OutboxMessage.status, func.count())
                                      .group_by(OutboxMessage.status)).all())
        assert states == {"done": 2 * TICKETS}
        ticket_ids = list(session.scalars(select(Ticket.id)))
    for ticket_id in ticket_ids[:: TICKETS // 50]:
        numbers = {w.number for w in get_ticket(chaos.hub, ticket_id).writebacks}
        assert numbers == {f"TK{ticket_id:06d}-RF1", f"TK{ticket_id:06d}-PT1"}
    injected = {r.fault for r in chaos.faults.requests() if r.fault}
    assert {"chaos error", "chaos timeout", "chaos lose"} <= injected, injected


async def test_chaos__every_bill_exactly_once(chaos: Chaos) -> None:
    summary = await dispatch(chaos.hub, options=DispatchOptions(concurrency=8))

    assert summary.dead == 0 and summary.done == 2 * TICKETS
    assert summary.retried > 100  # the faults did bite
    _assert_exactly_once(chaos)


def test_chaos__a_dispatcher_killed_twice_loses_and_doubles_nothing(chaos: Chaos,
        dispatch_through_kills: Any) -> None:
    # Kill mid-run, twice.
    dispatch_through_kills(chaos.hub, chaos.env, (TICKETS // 2, TICKETS),
                           timeout=300)
    _assert_exactly_once(chaos)
