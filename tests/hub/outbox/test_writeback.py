"""Write-back end to end: resolve → outbox → Kingdee sandbox; vendor refusals become dead
letters naming the field, a replay after the fix completes once; reconciliation; the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.kingdee.sandbox import create_app as create_kingdee_sandbox
from connectors.sdk.sandbox import serve
from hub.errors import ConflictError, InvalidRequestError
from hub.outbox import DispatchOptions, Resolution, dispatch
from hub.outbox.reconcile import reconcile
from hub.outbox.views import list_rows, replay_dead_letters
from hub.runtime import Hub
from hub.tickets import TicketCreate, create_ticket, get_ticket
from hub.tickets.resolve import resolve_ticket

REFUND = {"customer_number": "C002", "refund": {"amount": "88.50", "method": "wire"}}
PARTS = {"customer_number": "C002", "parts": [{"material": "p-1001 ", "qty": "2"}]}


@dataclass
class Erp:
    hub: Hub
    sandbox: Any
    url: str


@pytest.fixture
def erp(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[Erp]:
    app = create_kingdee_sandbox(latency_ms=0)
    with serve(app) as url:
        monkeypatch.setenv("KINGDEE_BASE_URL", f"{url}/k3cloud/")
        yield Erp(hub, app.state.sandbox, url)


async def _ticket(hub: Hub) -> int:
    ticket = await create_ticket(hub, TicketCreate(subject="净水器漏水", channel="phone"),
                                 actor="test")
    return ticket.id


def _ours(sandbox: Any, form: str) -> list[dict[str, Any]]:
    return [bill for bill in sandbox.bills(form) if str(bill["FBILLNO"]).startswith("TK")]


async def test_refund_and_parts_are_written_saved_submitted_audited(
    erp: Erp, audit_text: Any
) -> None:
    ticket_id = await _ticket(erp.hub)
    rows = resolve_ticket(erp.hub, ticket_id, Resolution.model_validate({**REFUND, **PARTS}),
                          actor="agent")

    summary = await dispatch(erp.hub)

    assert [row.idempotency_key for row in rows] == [f"TK{ticket_id:06d}-RF1",
                                                     f"TK{ticket_id:06d}-PT1"]
    assert (summary.done, summary.dead, summary.retried) == (2, 0, 0)
    [refund] = _ours(erp.sandbox, "AR_REFUNDBILL")
    [parts] = _ours(erp.sandbox, "STK_MisDelivery")
    assert refund["FDOCUMENTSTATUS"] == parts["FDOCUMENTSTATUS"] == "C"
    assert refund["FID"] < parts["FID"]  # one ticket's rows go out in order
    view = get_ticket(erp.hub, ticket_id)
    assert view.status == "resolved" and view.resolution is not None
    assert view.resolution.refund is not None and str(view.resolution.refund.amount) == "88.50"
    assert [(w.action, w.status, w.step, w.number) for w in view.writebacks] == [
        ("refund.create", "done", "done", f"TK{ticket_id:06d}-RF1"),
        ("parts.consume", "done", "done", f"TK{ticket_id:06d}-PT1")]
    audit = audit_text(erp.hub)
    assert "outbox.write" in audit and "kingdee:" in audit
    assert "Kd-sandbox-2026!" not in audit


async def test_a_refusal_is_a_dead_letter_naming_the_field_and_a_replay_completes_once(
    erp: Erp
) -> None:
    ticket_id = await _ticket(erp.hub)
    erp.sandbox.store.closed_before = (date.today() + timedelta(days=2)).isoformat()
    resolve_ticket(erp.hub, ticket_id, Resolution.model_validate(REFUND), actor="agent")

    first = await dispatch(erp.hub)
    [dead] = list_rows(erp.hub, status="dead").items
    erp.sandbox.store.closed_before = "2024-01-01"  # finance reopens the period
    replayed = replay_dead_letters(erp.hub, None, actor="ops")
    second = await dispatch(erp.hub)
    again = await dispatch(erp.hub)

    assert (first.dead, first.retried) == (1, 0)  # a refusal is not retried
    assert "FDATE" in (dead.error or "") and "已结账" in (dead.error or "")
    assert dead.error_kind == "rejected" and dead.attempts == 1
    assert replayed == [dead.id] and second.done == 1 and again.claimed == 0
    assert len(_ours(erp.sandbox, "AR_REFUNDBILL")) == 1
    [writeback] = get_ticket(erp.hub, ticket_id).writebacks
    assert writeback.status == "done" and writeback.error is None


async def test_a_dead_letter_holds_back_the_same_tickets_next_bill(erp: Erp) -> None:
    ticket_id = await _ticket(erp.hub)
    bad_parts = {"customer_number": "C002", "parts": [{"material": "P-404", "qty": "1"}]}
    resolve_ticket(erp.hub, ticket_id, Resolution.model_validate(bad_parts), actor="agent")
    other = await _ticket(erp.hub)
    resolve_ticket(erp.hub, other, Resolution.model_validate(REFUND), actor="agent")

    summary = await dispatch(erp.hub)

    assert (summary.done, summary.dead) == (1, 1)
    [dead] = list_rows(erp.hub, status="dead").items
    assert "FMaterialId" in (dead.error or "") and "P-404" in (dead.error or "")


async def test_a_mapping_refusal_refuses_the_resolution_and_changes_nothing(erp: Erp) -> None:
    ticket_id = await _ticket(erp.hub)
    with pytest.raises(InvalidRequestError, match="erp_refunds.*FCONTACTUNIT"):
        resolve_ticket(erp.hub, ticket_id, Resolution.model_validate(
            {"refund": {"amount": "10"}}), actor="agent")  # no ERP customer number
    view = get_ticket(erp.hub, ticket_id)
    assert view.status == "open" and view.writebacks == [] and list_rows(erp.hub).items == []
    resolve_ticket(erp.hub, ticket_id, Resolution.model_validate(REFUND), actor="agent")
    with pytest.raises(ConflictError, match="already resolved"):
        resolve_ticket(erp.hub, ticket_id, Resolution.model_validate(REFUND), actor="agent")


async def test_reconciliation_finds_a_deleted_bill_and_a_planted_twin(erp: Erp) -> None:
    ids = [await _ticket(erp.hub) for _ in range(3)]
    for ticket_id in ids:
        resolve_ticket(erp.hub, ticket_id, Resolution.model_validate(REFUND), actor="agent")
    await dispatch(erp.hub, options=DispatchOptions(concurrency=3))
    since = datetime.now(UTC) - timedelta(days=1)
    clean = await reconcile(erp.hub, since=since, connection="kingdee")
    with httpx.Client(base_url=erp.url) as control:
        deleted = control.delete(f"/_sandbox/bills/AR_REFUNDBILL/TK{ids[0]:06d}-RF1")
        [bill] = [b for b in _ours(erp.sandbox, "AR_REFUNDBILL")
                  if b["FBILLNO"] == f"TK{ids[1]:06d}-RF1"]
        twin = {key: value for key, value in bill.items() if key.upper() not in ("FID",)}
        twin["FBILLNO"] = "MANUAL-0001"
        planted = control.post("/_sandbox/bills/AR_REFUNDBILL", json=twin)

    report = await reconcile(erp.hub, since=since, connection="kingdee")

    assert clean.ok and clean.matched == 3
    assert deleted.status_code < 300 and planted.status_code < 300, planted.text
    kinds = {(f.kind, f.reference) for f in report.findings}
    assert kinds == {("missing", f"TK-{ids[0]:06d}"), ("duplicate", f"TK-{ids[1]:06d}")}
    duplicate = next(f for f in report.findings if f.kind == "duplicate")
    assert "MANUAL-0001" in duplicate.detail and report.matched == 2


async def test_the_api_resolves_lists_the_outbox_and_replays_dead_letters(
        erp: Erp, api_client: Any) -> None:
    ticket_id = await _ticket(erp.hub)
    erp.sandbox.store.closed_before = (date.today() + timedelta(days=2)).isoformat()
    with api_client(erp.hub) as api:
        resolved = api.post(f"/tickets/{ticket_id}/resolve", json=REFUND)
        twice = api.post(f"/tickets/{ticket_id}/resolve", json=REFUND)
        bad = api.post(f"/tickets/{ticket_id}/resolve",
                       json={"refund": {"amount": "10", "lines": [{"amount": "9"}]}})
        await dispatch(erp.hub)
        dead = api.get("/dead-letters").json()["items"]
        erp.sandbox.store.closed_before = "2024-01-01"
        replay = api.post(f"/dead-letters/{dead[0]['id']}/replay")
        missing = api.post("/dead-letters/999/replay")
        await dispatch(erp.hub)
        outbox = api.get("/outbox", params={"ticket_id": ticket_id}).json()["items"]

    assert resolved.status_code == 200
    assert resolved.json()["writebacks"][0]["status"] == "pending"
    assert twice.status_code == 409
    assert bad.status_code == 422 and "add up to 9" in bad.text
    assert dead[0]["error_kind"] == "rejected" and "FDATE" in dead[0]["error"]
    assert replay.json() == {"replayed": [dead[0]["id"]]} and missing.status_code == 404
    assert [(row["status"], row["replays"]) for row in outbox] == [("done", 1)]


async def test_a_dead_dispatchers_run_is_closed_by_whoever_takes_its_lease(erp: Erp) -> None:
    """A dispatcher killed mid-write leaves its run `running` and its row leased; the next
    dispatcher takes the row when the lease runs out and closes that run as interrupted. A
    run whose holder still renews its lease is left alone."""
    from sqlalchemy import update

    from hub.store.models import OutboxMessage, Run

    ticket_id = await _ticket(erp.hub)
    [row] = resolve_ticket(erp.hub, ticket_id, Resolution.model_validate(REFUND), actor="agent")
    past = datetime.now(UTC) - timedelta(minutes=5)
    with erp.hub.sessions.begin() as session:
        dead = Run(job="outbox", kind="writeback", trigger="manual", status="running",
                   started_at=past, host="worker-7", pid=4242)
        alive = Run(job="outbox", kind="writeback", trigger="manual", status="running",
                    started_at=past, host="worker-8", pid=4343)
        session.add_all([dead, alive])
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
            lease_owner="worker-7:4242:0a1b2c3d4e5f", lease_until=past, attempts=1))
        session.flush()
        dead_id, alive_id = dead.id, alive.id

    summary = await dispatch(erp.hub)

    assert summary.done == 1 and len(_ours(erp.sandbox, "AR_REFUNDBILL")) == 1
    with erp.hub.sessions() as session:
        closed, untouched = session.get_one(Run, dead_id), session.get_one(Run, alive_id)
        assert closed.status == "interrupted" and "lease ran out" in (closed.error or "")
        assert closed.finished_at is not None
        assert untouched.status == "running"
