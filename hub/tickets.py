"""Tickets: creation, enrichment with the customer's profile and history, and reading."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.sdk import ConnectorError, CustomerDirectory

from .audit import AuditEntry
from .config import EnrichJob
from .customers import customer_profile, find_by_contact, upsert_customers
from .errors import InvalidRequestError, NotFoundError
from .lookups import resolve_lookups
from .mapping import RecordMappingError, normalize_mobile
from .notify.engine import evaluate_ticket
from .runtime import Hub
from .store.models import Customer, Ticket

__all__ = ["TicketCreate", "TicketPublic", "create_ticket", "get_ticket", "insert_ticket",
           "list_tickets", "ticket_created"]

log = logging.getLogger("hub.tickets")

Channel = Literal["web", "phone", "email", "wechat", "dingtalk", "wecom", "api"]
Priority = Literal["low", "normal", "high", "urgent"]


class TicketCreate(BaseModel):
    """A new ticket as the service desk reports it; mobile or email finds the customer."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    subject: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=20000)
    channel: Channel = "api"
    contact_name: str | None = Field(default=None, max_length=200)
    mobile: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    category: str | None = Field(default=None, max_length=64)
    priority: Priority = "normal"
    external_ref: str | None = Field(default=None, max_length=200)

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        if not value:
            return None
        normalized = normalize_mobile(value)
        if normalized is None:
            raise ValueError(f"'{value}' is not a valid mainland China mobile number")
        return normalized

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.lower()
        if "@" not in value or "." not in value.rsplit("@", 1)[1]:
            raise ValueError(f"'{value}' is not an email address")
        return value


class TicketPublic(BaseModel):
    id: int
    subject: str
    description: str
    channel: str
    status: str
    contact_name: str | None
    contact_mobile: str | None
    contact_email: str | None
    customer_id: int | None
    enrichment_status: str
    enrichment_error: str | None
    enriched_at: datetime | None
    created_at: datetime
    category: str | None = None
    priority: str = "normal"
    external_ref: str | None = None
    customer: dict[str, Any] | None = None
    history: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    sources: list[dict[str, Any]] = Field(default_factory=list)
    resolved_at: datetime | None = None
    resolution: dict[str, Any] | None = Field(
        default=None, description="The last resolution: note, refund, parts, solution.")
    writebacks: list[dict[str, Any]] = Field(
        default_factory=list, description="What the resolution owes other systems, through "
        "the outbox: action, connection, key, status (pending, done, dead), step, the "
        "vendor's document number once written, and the vendor's error if it refused.")
    kb: list[dict[str, Any]] | None = Field(
        default=None, description="With ?expand=kb: the knowledge-base articles best matching "
        "the ticket (id, title, url, score 0..1, snippet with matches in 【】, labels).")

    @classmethod
    def of(cls, ticket: Ticket) -> TicketPublic:
        enrichment = ticket.enrichment or {}
        return cls(
            id=ticket.id, subject=ticket.subject, description=ticket.description,
            channel=ticket.channel, status=ticket.status, contact_name=ticket.contact_name,
            contact_mobile=ticket.contact_mobile, contact_email=ticket.contact_email,
            customer_id=ticket.customer_id, enrichment_status=ticket.enrichment_status,
            enrichment_error=ticket.enrichment_error, enriched_at=ticket.enriched_at,
            created_at=ticket.created_at, category=ticket.category,
            priority=ticket.priority or "normal", external_ref=ticket.external_ref,
            customer=enrichment.get("customer"),
            history=enrichment.get("history"), summary=enrichment.get("summary"),
            sources=enrichment.get("sources", []),
            resolved_at=ticket.resolved_at, resolution=ticket.resolution,
        )


def _enrich_job(hub: Hub) -> tuple[str, EnrichJob] | None:
    for name, job in hub.config.hub.jobs.items():
        if isinstance(job, EnrichJob):
            return name, job
    return None


async def create_ticket(hub: Hub, data: TicketCreate, *, actor: str) -> TicketPublic:
    """Store the ticket, enrich it, then run the notify rules; a failing source or messenger
    never blocks the ticket."""
    with hub.sessions.begin() as session:
        ticket_id = insert_ticket(hub, session, data, actor=actor).id
    await ticket_created(hub, ticket_id, actor=actor)
    return get_ticket(hub, ticket_id)


def insert_ticket(hub: Hub, session: Session, data: TicketCreate, *, actor: str) -> Ticket:
    """Add a ticket and its audit row inside the caller's transaction (call `ticket_created`
    once it commits)."""
    now = datetime.now(UTC)
    ticket = Ticket(subject=data.subject, description=data.description,
                    channel=data.channel, contact_name=data.contact_name,
                    contact_mobile=data.mobile, contact_email=data.email,
                    category=data.category, priority=data.priority,
                    external_ref=data.external_ref,
                    enrichment_status="pending", created_at=now, updated_at=now)
    session.add(ticket)
    session.flush()
    hub.audit.append(session, [AuditEntry(actor, "ticket.create", f"ticket:{ticket.id}",
                                          detail={"channel": data.channel})])
    return ticket


async def ticket_created(hub: Hub, ticket_id: int, *, actor: str) -> None:
    """What follows a committed new ticket: enrichment, then the notify rules."""
    await enrich_ticket(hub, ticket_id, actor=actor)
    await evaluate_ticket(hub, ticket_id, trigger="ticket.create", actor=actor)


async def enrich_ticket(hub: Hub, ticket_id: int, *, actor: str) -> None:
    found = _enrich_job(hub)
    with hub.sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFoundError(f"no ticket {ticket_id}")
        mobile, email = ticket.contact_mobile, ticket.contact_email
        local = find_by_contact(session, mobile=mobile, email=email)
    if found is None:
        _save_enrichment(hub, ticket_id, local, None, actor, status="skipped",
                         error="no enrich job is configured", sources=[])
        return
    job_name, job = found
    connector = hub.connector(job.connection, actor=f"job:{job_name}")
    source: dict[str, Any] = {"connection": job.connection, "status": "ok"}
    history, error = None, None
    customer = local
    try:
        async with connector:
            if not isinstance(connector, CustomerDirectory):
                raise ConnectorError("this connector cannot look customers up",
                                     connection=job.connection)
            if customer is None:
                customer = await _find_remote(hub, connector, job, mobile, email, actor)
            if customer is not None:
                history = await connector.customer_history(customer.external_id)
    except (ConnectorError, RecordMappingError) as exc:
        error = str(exc)
        source.update(status="failed", error=error)
    source["fetched_at"] = datetime.now(UTC).isoformat()
    if customer is None and error is None:
        status = "not_found"
    elif error is not None:
        status = "partial"
    else:
        status = "enriched"
    _save_enrichment(hub, ticket_id, customer, history, actor, status=status, error=error,
                     sources=[source])


async def _find_remote(hub: Hub, connector: CustomerDirectory, job: EnrichJob,
                       mobile: str | None, email: str | None, actor: str) -> Customer | None:
    record = await connector.find_customer(
        mobile=mobile if "mobile" in job.match else None,
        email=email if "email" in job.match else None,
    )
    if record is None:
        return None
    mapping = hub.mappings.get(job.mapping)
    lookups = await resolve_lookups(hub, mapping, [record], actor=actor)
    entity = mapping(record, row=str(record.get("id", "")), lookups=lookups)
    if entity is None:
        return None  # the mapping's filter does not take this customer
    with hub.sessions.begin() as session:
        result = upsert_customers(session, job.connection, [entity], mapping=mapping.label)
        customer = session.scalars(select(Customer).where(
            Customer.source == job.connection,
            Customer.external_id == str(entity["external_id"]))).one()
        if result.created:
            hub.audit.append(session, [AuditEntry(
                actor, "customer.create", f"customer:{customer.id}",
                detail={"source": customer.source, "external_id": customer.external_id,
                        "via": "enrichment lookup", "mapping": mapping.label})])
        return customer


def _summary(history: dict[str, Any] | None) -> dict[str, Any] | None:
    if history is None:
        return None
    orders = history.get("orders") or []
    spent = Decimal(0)
    for order in orders:
        if order.get("status") == "已退款":
            continue
        try:
            spent += Decimal(str(order.get("total") or 0))
        except InvalidOperation:
            continue
    return {
        "orders": len(orders),
        "total_spent": str(spent),
        "last_order_at": max((o.get("ordered_at") or "" for o in orders), default=None) or None,
        "interactions": len(history.get("interactions") or []),
    }


def _save_enrichment(hub: Hub, ticket_id: int, customer: Customer | None,
                     history: dict[str, Any] | None, actor: str, *, status: str,
                     error: str | None, sources: list[dict[str, Any]]) -> None:
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        ticket = session.get_one(Ticket, ticket_id)
        ticket.customer_id = customer.id if customer else None
        ticket.enrichment_status = status
        ticket.enrichment_error = error
        ticket.enrichment = {
            "customer": customer_profile(customer) if customer else None,
            "history": history,
            "summary": _summary(history),
            "sources": sources,
        }
        ticket.enriched_at = now
        ticket.updated_at = now
        hub.audit.append(session, [AuditEntry(
            actor, "ticket.enrich", f"ticket:{ticket_id}", outcome=status,
            detail={"customer_id": ticket.customer_id, "error": error})])


EXPANDABLE = ("customer", "orders", "history", "kb")  # customer/orders/history: always there


def get_ticket(hub: Hub, ticket_id: int, *, expand: Collection[str] = ()) -> TicketPublic:
    """The ticket, enriched; with `expand` containing "kb", the best-matching articles too."""
    unknown = sorted(set(expand) - set(EXPANDABLE))
    if unknown:
        raise InvalidRequestError(f"cannot expand {', '.join(unknown)}; "
                                  f"expandable: {', '.join(EXPANDABLE)}")
    with hub.sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFoundError(f"no ticket {ticket_id}")
        public = TicketPublic.of(ticket)
        if ticket.resolutions:
            from .resolutions import ticket_writebacks

            public.writebacks = ticket_writebacks(session, ticket_id)
    if "kb" in expand:
        from .kb import suggest_for_ticket

        hits = suggest_for_ticket(hub, public.subject, public.description, public.category)
        public.kb = [{"id": hit.id, "title": hit.title, "url": hit.url,
                      "score": hit.score, "snippet": hit.snippet, "labels": hit.labels}
                     for hit in hits]
    return public


def list_tickets(hub: Hub, *, limit: int = 50) -> list[TicketPublic]:
    with hub.sessions() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(limit))
        return [TicketPublic.of(t) for t in tickets]
