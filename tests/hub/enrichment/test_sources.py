"""History from more than one system: the CRM finds the customer, the Kingdee ERP adds its
sales orders and deliveries (by the customer's `erp_number`, or by phone), each cached and
timed out on its own; an ERP that is down or slow leaves the ticket partial, naming kingdee,
and a retry completes it (SQLite and PostgreSQL, both sandboxes on loopback)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from hub.enrichment import drain_enrichment
from hub.runtime import Hub
from hub.store.models import CustomerSnapshot, EnrichmentTask
from hub.sync import run_pull
from hub.tickets import EnrichmentSource, TicketCreate, TicketPublic, create_ticket, get_ticket

from .conftest import KingdeeSandbox, digits, history_calls

BY_NUMBER = [{"connection": "kingdee", "key": "erp_number"}]
BY_PHONE = [{"connection": "kingdee", "id_field": "FNumber"}]


def _ticket(mobile: str, subject: str = "压缩机异响") -> TicketCreate:
    return TicketCreate(subject=subject, contact_mobile=digits(mobile))


def _source(ticket: TicketPublic, connection: str) -> EnrichmentSource:
    return next(s for s in ticket.sources if s.connection == connection)


def _numbers(items: list[Any], source: str, key: str) -> list[str]:
    return [item.model_dump()[key] for item in items if item.source == source]


def _sent(items: list[Any], source: str) -> list[dict[str, Any]]:
    """The items of one system as it sent them: without the two fields the hub adds."""
    return [item.model_dump(mode="json", exclude={"source", "fetched_at"})
            for item in items if item.source == source]


async def _erp_customer(hub: Hub, crm: Any, index: int, number: str) -> dict[str, Any]:
    """A CRM customer whose record carries their Kingdee number, pulled into the hub."""
    vendor: dict[str, Any] = crm.state.customers[index]
    crm.state.update_customer(vendor["id"], {"erp_code": number})
    await run_pull(hub, "crm_customers")
    return vendor


async def _fetch_given_up(hub: Hub, connection: str, number: str) -> None:
    """Wait until no fetch of the customer's history holds the snapshot's fetch lease."""
    for _ in range(200):
        with hub.sessions() as session:
            row = session.get(CustomerSnapshot, (connection, number))
            if row is not None and row.fetch_owner is None:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the fetch of {connection} {number} never let go of its lease")


def _task(hub: Hub, ticket_id: int) -> EnrichmentTask:
    with hub.sessions() as session:
        return session.scalars(select(EnrichmentTask).where(
            EnrichmentTask.ticket_id == ticket_id)).one()


async def test_sources__a_ticket_gets_history_from_both_systems(
    enrich_hub: Any, crm_sandbox: Any, kingdee_sandbox: KingdeeSandbox, erp_mappings: Any
) -> None:
    hub = enrich_hub(mappings_dir=erp_mappings, sources=BY_NUMBER)
    vendor = await _erp_customer(hub, crm_sandbox, 20, "C004")
    ticket = await create_ticket(hub, _ticket(vendor["contact"]["mobile"]), actor="test")

    assert ticket.enrichment_status == "enriched" and ticket.enrichment_error is None
    crm = crm_sandbox.state.history(vendor["id"])
    assert ticket.history is not None
    orders = ticket.history.orders
    assert _sent(orders, "crm") == crm["orders"]
    assert {o.fetched_at for o in orders if o.source == "crm"} <= {
        _source(ticket, "crm").fetched_at}
    assert sorted(_numbers(orders, "kingdee", "FBillNo")) == kingdee_sandbox.orders("C004")
    assert kingdee_sandbox.orders("C004")  # the test means something: the ERP has orders
    deliveries = ticket.history.deliveries
    assert sorted(_numbers(deliveries, "kingdee", "FBillNo")) == \
        kingdee_sandbox.deliveries("C004")
    assert {d.fetched_at for d in deliveries} <= {_source(ticket, "kingdee").fetched_at}
    assert _sent(ticket.history.interactions, "crm") == crm["interactions"]
    # the primary's own fields stay
    assert ticket.history.model_extra == {"customer_id": vendor["id"]}
    assert [(s.connection, s.status) for s in ticket.sources] == [
        ("crm", "ok"), ("kingdee", "ok")]
    erp = _source(ticket, "kingdee")
    assert erp.external_id == "C004" and erp.cached is False and erp.fetched_at
    assert ticket.summary is not None
    counts = {"crm": len(crm["orders"]), "kingdee": len(kingdee_sandbox.orders("C004"))}
    assert ticket.summary.orders == sum(counts.values())
    assert ticket.summary.orders_by_source == {k: n for k, n in counts.items() if n}


async def test_sources__the_erp_customer_is_found_by_phone_without_a_stored_number(
    enrich_hub: Any, crm_sandbox: Any, kingdee_sandbox: KingdeeSandbox
) -> None:
    hub = enrich_hub(sources=BY_PHONE)
    vendor = crm_sandbox.state.customers[21]
    crm_sandbox.state.update_customer(vendor["id"], {"contact": {
        "mobile": kingdee_sandbox.phone("C007"), "email": None}})
    await run_pull(hub, "crm_customers")
    ticket = await create_ticket(hub, _ticket(kingdee_sandbox.phone("C007")), actor="test")

    assert ticket.enrichment_status == "enriched"
    assert ticket.customer is not None and ticket.customer.external_id == vendor["id"]
    assert _source(ticket, "kingdee").external_id == "C007"
    assert ticket.history is not None
    assert sorted(_numbers(ticket.history.orders, "kingdee", "FBillNo")) == \
        kingdee_sandbox.orders("C007")


async def test_sources__a_customer_the_erp_does_not_know_is_enriched_from_the_crm(
    enrich_hub: Any, crm_sandbox: Any, kingdee_sandbox: KingdeeSandbox
) -> None:
    hub = enrich_hub(sources=BY_PHONE)
    await run_pull(hub, "crm_customers")
    vendor = crm_sandbox.state.customers[22]
    ticket = await create_ticket(hub, _ticket(vendor["contact"]["mobile"]), actor="test")

    assert ticket.enrichment_status == "enriched"
    erp = _source(ticket, "kingdee")
    assert erp.status == "not_found" and erp.external_id is None
    assert ticket.history is not None
    assert {o.source for o in ticket.history.orders} <= {"crm"}
    assert [c["method"] for c in kingdee_sandbox.calls()
            if c["method"] == "executebillquery"] == ["executebillquery"]  # the lookup only


async def test_sources__erp_down_leaves_the_ticket_partial_and_a_retry_completes_it(
    enrich_hub: Any, crm_sandbox: Any, kingdee_sandbox: KingdeeSandbox, erp_mappings: Any
) -> None:
    hub = enrich_hub(mappings_dir=erp_mappings, sources=BY_NUMBER,
                     retry={"attempts": 3, "backoff_initial": 60})
    vendor = await _erp_customer(hub, crm_sandbox, 23, "C010")
    kingdee_sandbox.faults.fail_next(200, status=503)
    created = await create_ticket(hub, _ticket(vendor["contact"]["mobile"]), actor="test")

    assert created.enrichment_status == "partial"
    assert "kingdee" in (created.enrichment_error or "")
    assert "HTTP 503" in (created.enrichment_error or "")
    crm, erp = _source(created, "crm"), _source(created, "kingdee")
    assert crm.status == "ok" and erp.status == "failed"
    assert erp.error == created.enrichment_error and erp.retry_at is not None
    assert created.history is not None  # the CRM's part is there meanwhile
    assert {o.source for o in created.history.orders} <= {"crm"}
    assert created.history.deliveries == []
    assert _task(hub, created.id).status == "pending"

    kingdee_sandbox.faults.reset()
    result = await drain_enrichment(hub, now=datetime.now(UTC) + timedelta(minutes=2))
    assert (result.claimed, result.enriched, result.partial) == (1, 1, 0)
    ticket = get_ticket(hub, created.id)
    assert ticket.enrichment_status == "enriched" and ticket.enrichment_error is None
    assert _source(ticket, "kingdee").status == "ok"
    assert _source(ticket, "crm").cached is True  # the CRM was not asked again
    assert ticket.history is not None
    assert sorted(_numbers(ticket.history.deliveries, "kingdee", "FBillNo")) == \
        kingdee_sandbox.deliveries("C010")
    assert _task(hub, created.id).status == "done"


async def test_sources__a_slow_erp_times_out_alone_and_names_kingdee(
    enrich_hub: Any, crm_sandbox: Any, kingdee_sandbox: KingdeeSandbox, erp_mappings: Any
) -> None:
    hub = enrich_hub(mappings_dir=erp_mappings, sources=BY_NUMBER, source_timeout="1s",
                     retry={"attempts": 3, "backoff_initial": 60})
    vendor = await _erp_customer(hub, crm_sandbox, 24, "C011")
    kingdee_sandbox.faults.latency(5)
    created = await create_ticket(hub, _ticket(vendor["contact"]["mobile"]), actor="test")

    assert created.enrichment_status == "partial"
    assert created.enrichment_error == "kingdee did not answer within 1s"
    assert [(s.connection, s.status) for s in created.sources] == [
        ("crm", "ok"), ("kingdee", "failed")]

    kingdee_sandbox.faults.reset()
    await _fetch_given_up(hub, "kingdee", "C011")  # the timed-out fetch has let go
    result = await drain_enrichment(hub, now=datetime.now(UTC) + timedelta(minutes=2))
    assert result.enriched == 1
    assert get_ticket(hub, created.id).enrichment_status == "enriched"


async def test_sources__the_erp_snapshot_is_cached_for_the_next_ticket(
    enrich_hub: Any, crm_sandbox: Any, kingdee_sandbox: KingdeeSandbox, erp_mappings: Any
) -> None:
    hub = enrich_hub(mappings_dir=erp_mappings, sources=BY_NUMBER, cache_ttl="15m")
    vendor = await _erp_customer(hub, crm_sandbox, 25, "C012")
    first = await create_ticket(hub, _ticket(vendor["contact"]["mobile"]), actor="test")
    calls = len(kingdee_sandbox.calls())
    second = await create_ticket(hub, _ticket(vendor["contact"]["mobile"], "又响了"),
                                 actor="test")

    assert first.enrichment_status == second.enrichment_status == "enriched"
    assert calls > 0 and len(kingdee_sandbox.calls()) == calls  # no ERP call at all
    assert history_calls(crm_sandbox) == 1
    assert _source(first, "kingdee").cached is False
    assert _source(second, "kingdee").cached is True
    assert second.history == first.history


async def test_sources__the_erp_snapshot_stands_in_marked_stale_when_it_fails(
    enrich_hub: Any, crm_sandbox: Any, kingdee_sandbox: KingdeeSandbox, erp_mappings: Any
) -> None:
    hub = enrich_hub(mappings_dir=erp_mappings, sources=BY_NUMBER, cache_ttl=0)
    vendor = await _erp_customer(hub, crm_sandbox, 26, "C013")
    first = await create_ticket(hub, _ticket(vendor["contact"]["mobile"]), actor="test")
    kingdee_sandbox.faults.fail_next(200, status=503)
    second = await create_ticket(hub, _ticket(vendor["contact"]["mobile"], "又响了"),
                                 actor="test")

    assert second.enrichment_status == "partial"
    erp = _source(second, "kingdee")
    assert (erp.status, erp.stale, erp.cached) == ("failed", True, True)
    assert first.history is not None and second.history is not None
    assert second.history.deliveries == first.history.deliveries
    assert erp.fetched_at == _source(first, "kingdee").fetched_at  # how old the copy is


async def test_sources__nobody_in_the_crm_asks_no_other_system(
    enrich_hub: Any, crm_sandbox: Any, kingdee_sandbox: KingdeeSandbox
) -> None:
    hub = enrich_hub(sources=BY_PHONE)
    ticket = await create_ticket(hub, _ticket(kingdee_sandbox.phone("C001")), actor="test")

    assert ticket.enrichment_status == "not_found"
    assert [(s.connection, s.status) for s in ticket.sources] == [
        ("crm", "not_found"), ("kingdee", "skipped")]
    assert kingdee_sandbox.calls() == []
    assert crm_sandbox.state.requests  # the CRM was asked


def test_permanent__what_no_retry_mends() -> None:
    """Settled at once: config, capability, a refused record, a vendor's 4xx refusal. Retried:
    outages, throttling, credentials (an admin mends them) and 4xx answers meaning "not now"."""
    from connectors.sdk.errors import (
        AuthError,
        ConfigError,
        NotFoundError,
        RateLimitedError,
        RejectedError,
        TransientError,
    )
    from hub.enrichment.sources import permanent
    from hub.mapping.errors import FieldError, RecordMappingError

    refused = RecordMappingError([FieldError(mapping="m", field="mobile", path="mobile",
                                             row="1", message="not a mobile number")])
    assert permanent(refused) and permanent(ConfigError("cannot look customers up"))
    assert permanent(RejectedError("bad request", status=400))
    assert permanent(NotFoundError("no such customer", status=404))
    for status in (408, 409, 423, 425):
        assert not permanent(RejectedError("not now", status=status))
    assert not permanent(TransientError("bad gateway", status=502))
    assert not permanent(RateLimitedError("slow down", status=429))
    assert not permanent(AuthError("key expired", status=401))
