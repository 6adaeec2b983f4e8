"""Reading stored enrichment into the typed view: every shape a version of the hub wrote
reads, alike on the click path (`public_json`, no model) and through TicketPublic; and the
contact's fields are named in a request as the ticket names them."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from hub.enrichment.stored import enrichment_view
from hub.tickets import TicketCreate, TicketPublic
from hub.tickets.reader import public_json
from hub.tickets.stored import resolution_view

NOW = datetime(2026, 5, 1, 8, 0, 2, 123456, tzinfo=UTC)
FETCHED = NOW.isoformat()  # as enrichment writes it: +00:00
CUSTOMER = {"id": 7, "source": "crm", "external_id": "C7", "name": "王芳", "company": None,
            "mobile": "13812345678", "email": None, "tier": "vip", "mapping": "crm_customer@1",
            "attributes": {"erp_number": "C004", "tags": ["老客户"]}}


def _row(**fields: Any) -> Any:
    """A ticket row as the click path reads it (a Ticket's attributes)."""
    row = {"id": 1, "subject": "洗碗机不出水", "description": "", "channel": "web",
           "status": "open", "contact_name": None, "contact_mobile": None,
           "contact_email": None, "customer_id": None, "enrichment_status": "enriched",
           "enrichment_error": None, "enriched_at": NOW, "created_at": NOW,
           "category": None, "priority": "normal", "external_ref": None, "enrichment": None,
           "resolved_at": None, "resolution": None}
    return SimpleNamespace(**{**row, **fields})


def _both(row: Any) -> dict[str, Any]:
    """The click path's body; asserted to be the model's, field for field and in order."""
    body = public_json(row)
    assert body is not None
    fast = json.loads(body)
    model = json.loads(TicketPublic.of(row).model_dump_json())
    assert fast == model and list(fast) == list(model)
    TicketPublic.model_validate_json(body)
    return fast


def test_single_system__items_carry_its_connection_and_fetch_time() -> None:
    enrichment = {"customer": CUSTOMER, "history": {
        "customer_id": "C7", "orders": [{"order_no": "SO1", "source": "天猫"}],
        "interactions": [{"id": "I1", "at": "2026-04-01T10:00:00+08:00"}]},
        "summary": {"orders": 1, "total_spent": "0", "last_order_at": None,
                    "interactions": 1},
        "sources": [{"connection": "crm", "status": "ok", "external_id": "C7",
                     "fetched_at": FETCHED, "cached": False, "attempt": 1}]}
    stored = copy.deepcopy(enrichment)
    body = _both(_row(enrichment=enrichment))
    assert enrichment == stored  # reading never changes what the row holds
    tag = {"source": "crm", "fetched_at": "2026-05-01T08:00:02.123456Z"}
    # a field the system calls `source` gives way to the connection, as a merge does
    assert body["history"] == {"customer_id": "C7", "orders": [{"order_no": "SO1", **tag}],
                               "deliveries": [],
                               "interactions": [{"id": "I1", "at": "2026-04-01T10:00:00+08:00",
                                                 **tag}]}
    assert body["sources"] == [{"connection": "crm", "status": "ok", "error": None,
                                "external_id": "C7", "fetched_at": tag["fetched_at"],
                                "cached": False, "stale": False, "attempt": 1,
                                "retry_at": None}]
    assert body["customer"] == CUSTOMER
    assert body["summary"]["orders_by_source"] is None


def test_several_systems__each_item_says_which_and_how_fresh() -> None:
    enrichment = {"customer": CUSTOMER, "history": {
        "orders": [{"order_no": "SO1", "source": "crm"}, {"FBillNo": "XSDD1", "source": "kingdee"}],
        "deliveries": [{"FBillNo": "XSCKD1", "source": "kingdee"}]},
        "summary": {"orders": 2, "total_spent": "0", "last_order_at": None,
                    "interactions": 0, "orders_by_source": {"crm": 1, "kingdee": 1}},
        "sources": [{"connection": "crm", "status": "ok", "fetched_at": FETCHED},
                    {"connection": "kingdee", "status": "failed", "error": "HTTP 503",
                     "fetched_at": "2026-04-30T08:00:00+00:00", "cached": True, "stale": True,
                     "retry_at": "2026-05-01T08:01:02+00:00"}]}
    body = _both(_row(enrichment=enrichment, enrichment_status="partial"))
    history = body["history"]
    assert [(o["source"], o["fetched_at"]) for o in history["orders"]] == [
        ("crm", "2026-05-01T08:00:02.123456Z"), ("kingdee", "2026-04-30T08:00:00Z")]
    assert history["deliveries"][0]["fetched_at"] == "2026-04-30T08:00:00Z"
    assert history["interactions"] == []
    assert body["sources"][1]["retry_at"] == "2026-05-01T08:01:02Z"


def test_first_versions_rows_read() -> None:
    """The walking skeleton's enrichment: no mapping on the customer, sources without
    attempt, a failed source without history; a resolution of a note only."""
    customer = {key: value for key, value in CUSTOMER.items() if key != "mapping"}
    enrichment = {"customer": customer, "history": None, "summary": None, "sources": [
        {"connection": "crm", "status": "failed", "error": "HTTP 503", "fetched_at": FETCHED}]}
    body = _both(_row(enrichment=enrichment, enrichment_status="partial",
                      status="resolved", resolution={"note": "换了滤网"}, resolved_at=NOW))
    assert body["customer"]["mapping"] is None
    assert body["history"] is None and body["sources"][0]["attempt"] is None
    assert body["resolution"] == {"note": "换了滤网", "customer_number": None, "refund": None,
                                  "parts": [], "solution": None, "kb_link": None}


def test_no_enrichment_yet() -> None:
    body = _both(_row(enrichment=None, enrichment_status="pending", enriched_at=None))
    assert (body["customer"], body["history"], body["summary"], body["sources"]) == (
        None, None, None, [])


@pytest.mark.parametrize(("stored", "shown"), [
    (("open", "urgent", "wecom"), ("open", "urgent", "wecom")),
    (("resolved", None, "api"), ("resolved", "normal", "api")),
    # an import's own words, stored before imports checked them
    (("in_progress", "高", "import"), ("open", "normal", "other")),
    (("已关闭", "P1", "legacy_crm"), ("open", "normal", "other")),
])
def test_values_outside_the_enums_read_as_the_hub_takes_them(
        stored: tuple[str | None, ...], shown: tuple[str, ...]) -> None:
    status, priority, channel = stored
    body = _both(_row(status=status, priority=priority, channel=channel))
    assert (body["status"], body["priority"], body["channel"]) == shown


def test_resolution_view__keeps_a_kb_link() -> None:
    stored = {"note": None, "customer_number": None, "refund": None, "parts": [],
              "solution": {"title": "t", "problem": "p", "cause": None, "solution": "s",
                           "product": None, "labels": [], "reusable": True},
              "kb_link": {"article_id": 3, "title": "t", "url": None, "score": 0.9}}
    assert resolution_view(stored) is stored
    body = _both(_row(status="resolved", resolution=stored, resolved_at=NOW))
    assert body["resolution"] == stored


def test_enrichment_view__current_rows_are_not_copied() -> None:
    sources = [{"connection": "crm", "status": "ok", "error": None, "external_id": "C7",
                "fetched_at": "2026-05-01T08:00:02Z", "cached": True, "stale": False,
                "attempt": 1, "retry_at": None}]
    customer, _, _, shown = enrichment_view({"customer": CUSTOMER, "sources": sources})
    assert customer is CUSTOMER and shown[0] is sources[0]


def test_ticket_create__takes_the_contact_as_the_ticket_names_it() -> None:
    data = TicketCreate.model_validate({"subject": "x", "contact_mobile": "138 1234 5678",
                                        "contact_email": "Wang@Example.com"})
    assert (data.contact_mobile, data.contact_email) == ("13812345678", "wang@example.com")
    # the names before, still read for a while (deprecated)
    old = TicketCreate.model_validate({"subject": "x", "mobile": "138 1234 5678",
                                       "email": "Wang@Example.com"})
    assert old == data
    with pytest.raises(ValidationError, match="Extra inputs"):  # both: which one?
        TicketCreate.model_validate({"subject": "x", "mobile": "13812345678",
                                     "contact_mobile": "13812345678"})
    assert set(data.model_dump()) <= set(TicketPublic.model_fields)
