"""A ticket's 360° view as the API shows it, typed: the customer enrichment found, their
history by kind (each item with the connection it came from and when it was read), the
summary, how each source answered, the resolution with its write-backs, kb suggestions.

Vendor records stay open: an order or an interaction carries the fields its system sent
(`additionalProperties`), beside the two the hub adds (`source`, `fetched_at`). The enrichment's
parts live with the enrichment (hub/enrichment/view.py); how a ticket row's stored
enrichment becomes this shape: hub/enrichment/stored.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from connectors.sdk.capabilities import WriteStep
from hub.enrichment.view import (
    EXAMPLES,
    EnrichmentSource,
    EnrichmentStatus,
    HistoryDelivery,
    HistoryInteraction,
    HistoryOrder,
    HistorySummary,
    SourceStatus,
    TicketCustomer,
    TicketHistory,
    ViewPart,
)
from hub.outbox import Resolution

__all__ = ["EXAMPLES", "EnrichmentSource", "EnrichmentStatus", "HistoryDelivery",
           "HistoryInteraction", "HistoryOrder", "HistorySummary", "KbLink",
           "SourceStatus", "TicketCustomer", "TicketHistory", "TicketResolution",
           "TicketWriteback", "WritebackStatus"]

WritebackStatus = Literal["pending", "done", "dead"]


class KbLink(ViewPart):
    """The knowledge-base article a reusable solution nearly duplicated: linked instead of
    publishing another."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "article_id": 12, "title": "洗碗机不进水的排查", "url": "https://kb.example.com/pages/12",
        "score": 0.91}]})

    article_id: int
    title: str
    url: str | None
    score: float


class TicketResolution(Resolution):
    """How the ticket was last resolved (what `POST /tickets/{id}/resolve` took), and the
    article its solution was linked to instead of published."""

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True,
                              json_schema_extra={"examples": [{
        "note": "更换主板后恢复", "customer_number": "C002",
        "refund": {"amount": "88.50", "currency": "CNY", "method": "wire", "reason": None,
                   "lines": [{"amount": "88.50", "method": "wire", "material": None,
                              "qty": None}]},
        "parts": [{"material": "P-1001", "qty": "1", "unit": None, "warehouse": None,
                   "note": None}],
        "solution": None, "kb_link": None}]})

    kb_link: KbLink | None = None


class TicketWriteback(ViewPart):
    """A write the resolution owes another system, through the outbox."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 7, "action": "refund.create", "connection": "kingdee", "key": "TK000042-RF1",
        "status": "done", "step": "done", "number": "TK000042-RF1", "error": None}]})

    id: int = Field(description="The outbox row (GET /outbox/{id}).")
    action: str
    connection: str
    key: str = Field(description="The idempotency key, carried to the vendor as the "
                                 "document number.")
    status: WritebackStatus = Field(description="pending (the dispatcher sends it), done, "
                                    "or dead (a dead letter, to replay).")
    step: WriteStep | None = Field(description="How far the write got: saved, submitted, done.")
    number: str | None = Field(description="The vendor's document number, once written.")
    error: str | None = Field(description="The last failure, with the vendor's field and "
                                          "message when it refused.")
