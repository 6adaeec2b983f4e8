"""Customers as the API and CLI show them: search, the profile, and the history across
systems with where each piece came from and how fresh it is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select

from hub.core.pages import Page, decode_cursor, filter_text, page_of
from hub.core.time import UtcDatetime, as_utc_or_none
from hub.errors import NotFoundError
from hub.mapping import normalize_mobile
from hub.runtime import Hub
from hub.store.models import Customer, Ticket

__all__ = ["CustomerHistory", "CustomerPublic", "HistoryPiece", "TicketBrief",
           "customer_history", "get_customer", "search_customers"]

_CUSTOMER_EXAMPLE: dict[str, Any] = {
    "id": 42, "source": "crm", "external_id": "C00042", "name": "张伟", "company": "华联超市",
    "mobile": "13812345678", "email": "zhang.wei@example.com", "tier": "vip",
    "mapping": "crm_customer@1", "attributes": {"city": "上海"},
    "created_at": "2026-11-01T08:00:00Z", "updated_at": "2026-11-20T08:00:00Z",
}


class CustomerPublic(BaseModel):
    """A customer as the hub holds them (mobile, email: masked without the `pii` scope)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CUSTOMER_EXAMPLE]})

    id: int
    source: str = Field(description="The connection (or import) the customer came from.")
    external_id: str
    name: str | None
    company: str | None
    mobile: str | None
    email: str | None
    tier: str | None
    mapping: str | None = Field(description="The mapping (name@version) that wrote the row.")
    attributes: dict[str, Any]
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, row: Customer) -> CustomerPublic:
        return cls(id=row.id, source=row.source, external_id=row.external_id, name=row.name,
                   company=row.company, mobile=row.mobile, email=row.email, tier=row.tier,
                   mapping=row.mapping, attributes=row.attributes or {},
                   created_at=row.created_at, updated_at=row.updated_at)


class HistoryPiece(BaseModel):
    """One part of a customer's history, with its provenance."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "kind": "orders", "source": "crm", "fetched_at": "2026-11-23T09:58:00Z",
        "age_seconds": 120, "via": "ticket:123",
        "data": [{"id": "SO-1001", "total": "1299.00", "status": "已发货"}]}]})

    kind: str = Field(description="profile, orders, interactions, summary, tickets, or any "
                                  "other part the source's history carries.")
    source: str = Field(description="The connection it came from (`hub`: the hub's own).")
    fetched_at: UtcDatetime | None = Field(description="When the hub last read it.")
    age_seconds: int | None = Field(description="How old it is now: its freshness.")
    via: str | None = Field(default=None, description="What fetched it, e.g. the enrichment "
                                                      "of `ticket:123`.")
    data: Any


class TicketBrief(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 123, "subject": "洗碗机不出水", "status": "open", "channel": "web",
        "category": "repair", "created_at": "2026-11-23T09:58:00Z", "resolved_at": None}]})

    id: int
    subject: str
    status: str
    channel: str
    category: str | None
    created_at: UtcDatetime
    resolved_at: UtcDatetime | None


class CustomerHistory(BaseModel):
    """The customer, and their history across systems, newest data first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "customer": _CUSTOMER_EXAMPLE,
        "pieces": [{"kind": "tickets", "source": "hub", "fetched_at": "2026-11-23T10:00:00Z",
                    "age_seconds": 0, "via": None, "data": []}]}]})

    customer: CustomerPublic
    pieces: list[HistoryPiece]


def search_customers(hub: Hub, *, q: str | None = None, mobile: str | None = None,
                     email: str | None = None, cursor: str | None = None,
                     limit: int = 50) -> Page[CustomerPublic]:
    """Customers matching every filter given, newest first: `q` in name or company, the
    mobile (any spelling of it) or the email exactly."""
    q, mobile = filter_text("q", q), filter_text("mobile", mobile)
    email = filter_text("email", email)
    query = select(Customer).order_by(Customer.id.desc()).limit(limit + 1)
    after = decode_cursor("customer", cursor)
    if after is not None:
        query = query.where(Customer.id < after)
    if q:
        pattern = f"%{q.strip()}%"
        query = query.where(or_(Customer.name.ilike(pattern), Customer.company.ilike(pattern)))
    if mobile:
        query = query.where(Customer.mobile == (normalize_mobile(mobile) or mobile.strip()))
    if email:
        query = query.where(Customer.email == email.strip().lower())
    with hub.sessions() as session:
        rows = session.scalars(query).all()
        return page_of("customer", rows, limit, key=lambda c: c.id, view=CustomerPublic.of)


def get_customer(hub: Hub, customer_id: int) -> CustomerPublic:
    with hub.sessions() as session:
        row = session.get(Customer, customer_id)
        if row is None:
            raise NotFoundError(f"no customer {customer_id}")
        return CustomerPublic.of(row)


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return as_utc_or_none(datetime.fromisoformat(text))
    except ValueError:
        return None


def _piece(kind: str, source: str, fetched_at: datetime | None, now: datetime, data: Any,
           via: str | None = None) -> HistoryPiece:
    age = int((now - fetched_at).total_seconds()) if fetched_at else None
    return HistoryPiece(kind=kind, source=source, fetched_at=fetched_at, age_seconds=age,
                        via=via, data=data)


def customer_history(hub: Hub, customer_id: int, *, tickets: int = 50) -> CustomerHistory:
    """The profile, the latest history the enrichment fetched (orders, interactions... each
    with its connection and fetch time), and the customer's tickets in the hub."""
    now = datetime.now(UTC)
    with hub.sessions() as session:
        row = session.get(Customer, customer_id)
        if row is None:
            raise NotFoundError(f"no customer {customer_id}")
        customer = CustomerPublic.of(row)
        recent = session.scalars(select(Ticket).where(Ticket.customer_id == customer_id)
                                 .order_by(Ticket.id.desc()).limit(tickets)).all()
        briefs = [TicketBrief(id=t.id, subject=t.subject, status=t.status, channel=t.channel,
                              category=t.category,
                              created_at=t.created_at or t.updated_at,  # imported: none
                              resolved_at=t.resolved_at) for t in recent]
        enriched = sorted((t for t in recent if (t.enrichment or {}).get("history")),
                          key=lambda t: as_utc_or_none(t.enriched_at) or now, reverse=True)
        latest = enriched[0] if enriched else None
        enrichment = (latest.enrichment or {}) if latest else {}
    pieces = [_piece("profile", customer.source, as_utc_or_none(customer.updated_at), now,
                     customer.model_dump(mode="json"))]
    if latest is not None:
        ok = [s for s in enrichment.get("sources") or [] if s.get("status") == "ok"]
        source = ok[0] if ok else {}
        fetched = _parse(source.get("fetched_at")) or as_utc_or_none(latest.enriched_at)
        connection = str(source.get("connection") or customer.source)
        via = f"ticket:{latest.id}"
        fetched_by = {str(s.get("connection")): _parse(s.get("fetched_at")) for s in ok}
        for kind, data in (enrichment.get("history") or {}).items():
            if not (isinstance(data, list) and len(ok) > 1):
                pieces.append(_piece(kind, connection, fetched, now, data, via))
                continue
            # History merged from several systems: each item says where it came from.
            groups: dict[str, list[Any]] = {}
            for item in data:
                origin = item.get("source") if isinstance(item, dict) else None
                groups.setdefault(str(origin or connection), []).append(item)
            for origin, items in groups.items():
                pieces.append(_piece(kind, origin, fetched_by.get(origin) or fetched, now,
                                     items, via))
        if enrichment.get("summary") is not None:
            pieces.append(_piece("summary", connection, fetched, now, enrichment["summary"],
                                 via))
    pieces.append(_piece("tickets", "hub", now, now,
                         [brief.model_dump(mode="json") for brief in briefs]))
    return CustomerHistory(customer=customer, pieces=pieces)
