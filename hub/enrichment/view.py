"""The enrichment as a ticket's answer shows it, typed: the customer it found, their history
by kind (each item with the connection it came from and when it was read), the summary and
how each source answered. hub/tickets/view.py builds the ticket's 360° view from these.

Vendor records stay open: an order or an interaction carries the fields its system sent
(`additionalProperties`), beside the two the hub adds (`source`, `fetched_at`). How a ticket
row's stored enrichment becomes this shape: stored.py.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.core.time import UtcDatetime

__all__ = ["EXAMPLES", "FAILED", "EnrichmentFailure", "EnrichmentSource", "EnrichmentStatus",
           "HistoryDelivery",
           "HistoryInteraction", "HistoryOrder", "HistorySummary", "SourceStatus",
           "TicketCustomer", "TicketHistory", "ViewPart"]

_FETCHED = "2026-05-01T08:00:02Z"
_ORDER = {"source": "crm", "fetched_at": _FETCHED, "order_no": "SO20260420-00042-1",
          "ordered_at": "2026-04-20T10:00:00+08:00", "status": "已签收", "total": "1299.00",
          "currency": "CNY",
          "items": [{"sku": "DW-200", "name": "洗碗机", "qty": 1, "unit_price": "1299.00"}]}
_INTERACTION = {"source": "crm", "fetched_at": _FETCHED, "id": "I0004201",
                "at": "2026-04-22T15:30:00+08:00", "channel": "phone",
                "summary": "咨询洗碗机安装", "agent": "李娜"}
# Examples of the view's parts, as an answer shows them (TicketPublic's example is made of
# them).
EXAMPLES: dict[str, dict[str, Any]] = {
    "customer": {"id": 7, "source": "crm", "external_id": "C00042", "name": "王芳",
                 "company": "华联超市", "mobile": "13812345678", "email": None, "tier": "vip",
                 "mapping": "crm_customer@1",
                 "attributes": {"city": "上海", "erp_number": "C002"}},
    "order": _ORDER,
    "delivery": {"source": "kingdee", "fetched_at": _FETCHED, "FID": 100231,
                 "FBillNo": "XSCKD000123", "FDate": "2026-04-21T00:00:00",
                 "lines": [{"FMaterialId.FNumber": "P-1001", "FRealQty": 1}]},
    "interaction": _INTERACTION,
    "history": {"orders": [_ORDER], "deliveries": [], "interactions": [_INTERACTION],
                "customer_id": "C00042"},
    "summary": {"orders": 1, "total_spent": "1299.00",
                "last_order_at": "2026-04-20T10:00:00+08:00", "interactions": 1,
                "orders_by_source": None},
    "source": {"connection": "crm", "status": "ok", "error": None, "external_id": "C00042",
               "fetched_at": _FETCHED, "cached": False, "stale": False, "attempt": 1,
               "retry_at": None},
}


EnrichmentStatus = Literal["pending", "enriched", "partial", "not_found", "skipped"]
# A ticket's stored state when its enrichment failed for good (a failure no retry mends): not
# a value of the v1 answer's enum (a new one would be a major change), where it reads as
# `partial` with `enrichment_failure` (docs/api.md 1.5.0).
FAILED = "failed"


class EnrichmentFailure(BaseModel):
    """Why the ticket's enrichment failed for good, and when: a failure no retry mends (the
    connection's config or capability, the system refusing the request itself — a 4xx other
    than 401, 403, 408, 409, 423, 425 and 429 —, or a record the mapping refuses; outages,
    throttling, timeouts and refused credentials are retried instead). The ticket is not
    retried; `hub enrich retry TICKET` tries it again once the cause is fixed."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "reason": "crm refused the request (HTTP 400): bad mobile (not retried: …)",
        "at": "2026-05-01T08:00:02Z"}]})

    reason: str
    at: UtcDatetime | None
SourceStatus = Literal["ok", "failed", "not_found", "skipped"]


class ViewPart(BaseModel):
    """An answer's part: every field present in the answer (null when unknown), so the
    document marks them all required."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class TicketCustomer(ViewPart):
    """The customer's profile as enrichment found it (CustomerPublic, at that moment)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES["customer"]]})

    id: int
    source: str = Field(description="The connection (or import) the customer came from.")
    external_id: str
    name: str | None
    company: str | None
    mobile: str | None
    email: str | None
    tier: str | None
    mapping: str | None = Field(default=None, description="The mapping (name@version) that "
                                "wrote the customer; null on tickets enriched before it was "
                                "recorded.")
    attributes: dict[str, Any] = Field(description="The custom fields the customer's mapping "
                                       "keeps (a CRM's member level, the ERP number …): "
                                       "open-ended, as each mapping defines them.")


_HUB_FIELDS_NOTE = ("The fields its system sent, as it sent them, beside `source` and "
                    "`fetched_at`, which the hub adds (a field the system itself calls "
                    "`source` gives way to the connection); an item a pull stored "
                    "(`history_from_store`) also carries `stored_at`, when the pull last "
                    "wrote it.")


class _HistoryItem(ViewPart):
    model_config = ConfigDict(extra="allow")

    source: str = Field(description="The connection it came from.")
    fetched_at: UtcDatetime | None = Field(
        description="When the hub read it from that connection: its freshness (`sources` "
                    "says whether it was a cached or a stale copy).")


class HistoryOrder(_HistoryItem):
    __doc__ = f"One of the customer's orders (or an ERP's sales orders). {_HUB_FIELDS_NOTE}"

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES["order"]]})


class HistoryDelivery(_HistoryItem):
    __doc__ = f"A delivery to the customer (an ERP's outbound bill). {_HUB_FIELDS_NOTE}"

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES["delivery"]]})


class HistoryInteraction(_HistoryItem):
    __doc__ = f"A past contact with the customer (a call, a chat). {_HUB_FIELDS_NOTE}"

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES["interaction"]]})


class TicketHistory(ViewPart):
    """The customer's history from every system the enrich job asks, newest first within
    each system, the enrich job's own connection first. A system's further values (its
    own customer number, lists of other kinds) are kept as it sent them."""

    model_config = ConfigDict(extra="allow",
                              json_schema_extra={"examples": [EXAMPLES["history"]]})

    orders: list[HistoryOrder] = Field(default_factory=list)
    deliveries: list[HistoryDelivery] = Field(default_factory=list)
    interactions: list[HistoryInteraction] = Field(default_factory=list)


class HistorySummary(ViewPart):
    """The few figures an agent reads first, computed from the history."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        EXAMPLES["summary"], {**EXAMPLES["summary"], "orders": 3, "total_spent": "2597.00",
                              "orders_by_source": {"crm": 2, "kingdee": 1}}]})

    orders: int
    total_spent: str = Field(description="A decimal, as text: the orders' totals, refunded "
                                         "orders left out (systems without totals add none).")
    last_order_at: str | None = Field(description="The latest order's `ordered_at`, as its "
                                                  "system wrote it.")
    interactions: int
    orders_by_source: dict[str, int] | None = Field(
        default=None, description="Orders by connection, with history from several systems.")


class EnrichmentSource(ViewPart):
    """How one system answered the ticket's enrichment."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES["source"]]})

    connection: str | None = Field(description="null only when the attempt failed before "
                                                "any connection was known.")
    status: SourceStatus = Field(description="ok; failed (see `error`; `stale` when an older "
                                 "copy stands in); not_found (no such customer there); "
                                 "skipped (not asked: no customer to ask about).")
    error: str | None = None
    external_id: str | None = Field(default=None,
                                    description="The customer's number in that system.")
    fetched_at: UtcDatetime | None = Field(default=None, description="When the history shown "
                                           "from it was read.")
    cached: bool = Field(default=False, description="The history came from the hub's cache "
                                                    "(no call was made).")
    stale: bool = Field(default=False, description="The system failed: the history shown is "
                                                   "the last one read, of `fetched_at`.")
    attempt: int | None = Field(default=None, description="Which attempt this was.")
    retry_at: UtcDatetime | None = Field(default=None,
                                         description="When a failed system is asked again.")
