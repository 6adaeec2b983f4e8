"""The tickets' DTOs: what the API and the CLI take (TicketCreate, TicketUpdate,
TicketFilter) and give (TicketPublic, TicketPage, a ticket with its version)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from hub.core.time import UtcDatetime
from hub.enrichment.stored import enrichment_view
from hub.enrichment.view import FAILED, EnrichmentFailure
from hub.kb import ArticleMatch
from hub.mapping import normalize_mobile
from hub.tickets.stored import resolution_view
from hub.tickets.view import (
    EXAMPLES,
    EnrichmentSource,
    EnrichmentStatus,
    HistorySummary,
    TicketCustomer,
    TicketHistory,
    TicketResolution,
    TicketWriteback,
)

if TYPE_CHECKING:
    from hub.store.models import Ticket

__all__ = ["Channel", "EditableStatus", "Priority", "TicketCreate", "TicketFilter", "TicketPage",
           "TicketPublic", "TicketStatus", "TicketUpdate", "VersionedJson", "VersionedTicket",
           "public_fields"]


# `other`: a channel the hub does not name (a legacy system's, an import without one).
Channel = Literal["web", "phone", "email", "wechat", "dingtalk", "wecom", "api", "other"]
Priority = Literal["low", "normal", "high", "urgent"]
TicketStatus = Literal["open", "pending", "resolved", "closed"]
EditableStatus = Literal["open", "pending", "closed"]  # resolved: by resolving, which owes writes


class TicketCreate(BaseModel):
    """A new ticket as the service desk reports it; its contact's mobile or email finds the
    customer. The fields are named as the ticket answers them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"subject": "洗碗机不出水", "description": "开机后不进水", "channel": "web",
                      "contact_name": "王芳", "contact_mobile": "13812345678",
                      "priority": "high"}]})

    subject: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=20000)
    channel: Channel = "api"
    contact_name: str | None = Field(default=None, max_length=200)
    # `mobile` and `email`, their names before, are still read (deprecated, see README's
    # API section): the document shows only the first alias, the field's own name.
    contact_mobile: str | None = Field(default=None, max_length=40, validation_alias=(
        AliasChoices("contact_mobile", "mobile")))
    contact_email: str | None = Field(default=None, max_length=254, validation_alias=(
        AliasChoices("contact_email", "email")))
    category: str | None = Field(default=None, max_length=64)
    priority: Priority = "normal"
    external_ref: str | None = Field(default=None, max_length=200)

    @field_validator("contact_mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        if not value:
            return None
        normalized = normalize_mobile(value)
        if normalized is None:
            raise ValueError(f"'{value}' is not a valid mainland China mobile number")
        return normalized

    @field_validator("contact_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.lower()
        if "@" not in value or "." not in value.rsplit("@", 1)[1]:
            raise ValueError(f"'{value}' is not an email address")
        return value


_TICKET_EXAMPLE: dict[str, Any] = {
    "id": 42, "subject": "洗碗机不出水", "description": "开机后不进水", "channel": "web",
    "status": "open", "contact_name": "王芳", "contact_mobile": "13812345678",
    "contact_email": None, "customer_id": 7, "enrichment_status": "enriched",
    "enrichment_error": None, "enriched_at": "2026-05-01T08:00:02Z", "enrichment_failure": None,
    "created_at": "2026-05-01T08:00:00Z", "category": "维修", "priority": "high",
    "external_ref": None, "customer": EXAMPLES["customer"], "history": EXAMPLES["history"],
    "summary": EXAMPLES["summary"], "sources": [EXAMPLES["source"]],
    "resolved_at": None, "resolution": None, "writebacks": [], "kb": None,
}


class TicketPublic(BaseModel):
    """A ticket as the API shows it, enriched with the customer's profile and history: its
    360° view. Every field is present in an answer (null when unknown)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True,
                              json_schema_extra={"examples": [_TICKET_EXAMPLE]})

    id: int
    subject: str
    description: str
    channel: Channel
    status: TicketStatus
    contact_name: str | None
    contact_mobile: str | None
    contact_email: str | None
    customer_id: int | None
    enrichment_status: EnrichmentStatus
    enrichment_error: str | None
    enriched_at: UtcDatetime | None
    enrichment_failure: EnrichmentFailure | None = Field(
        default=None, description="Set when the enrichment failed for good (no retry mends "
        "it): why and when; `enrichment_status` is then `partial`. Null otherwise.")
    created_at: UtcDatetime
    category: str | None = None
    priority: Priority = "normal"
    external_ref: str | None = None
    customer: TicketCustomer | None = Field(
        default=None, description="The customer enrichment found (null: none, or not yet).")
    history: TicketHistory | None = Field(
        default=None, description="The customer's history, by kind, from every system asked.")
    summary: HistorySummary | None = None
    sources: list[EnrichmentSource] = Field(
        default_factory=list, description="How each system asked answered, in order: the "
        "enrich job's own connection first.")
    resolved_at: UtcDatetime | None = None
    resolution: TicketResolution | None = Field(
        default=None, description="The last resolution: note, refund, parts, solution.")
    writebacks: list[TicketWriteback] = Field(
        default_factory=list, description="What the resolution owes other systems, through "
        "the outbox.")
    kb: list[ArticleMatch] | None = Field(
        default=None, description="With ?expand=kb: the knowledge-base articles best matching "
        "the ticket, best first.")

    @classmethod
    def of(cls, ticket: Ticket, *, writebacks: list[dict[str, Any]] | None = None
           ) -> TicketPublic:
        fields = public_fields(ticket)
        if writebacks:
            fields["writebacks"] = writebacks
        return cls.model_validate(fields)


_STATUSES = frozenset(get_args(TicketStatus))
_PRIORITIES = frozenset(get_args(Priority))
_CHANNELS = frozenset(get_args(Channel))


def public_fields(ticket: Ticket) -> dict[str, Any]:
    """A ticket's fields as TicketPublic shows them (in its order): for `TicketPublic.of`,
    and for `public_json` on the read path, which skips the model.

    A value stored outside the answer's enums (a legacy system's, through an import, before
    imports checked them) reads as the hub takes it: an unknown status as `open` (the
    queue and the notify rules treat every status but resolved and closed as open), an
    unknown priority as `normal`, an unknown channel as `other`."""
    customer, history, summary, sources = enrichment_view(ticket.enrichment)
    status, priority, channel = ticket.status, ticket.priority, ticket.channel
    failed = ticket.enrichment_status == FAILED  # v1 reads it as partial, with the failure
    return {
        "id": ticket.id, "subject": ticket.subject, "description": ticket.description,
        "channel": channel if channel in _CHANNELS else "other",
        "status": status if status in _STATUSES else "open",
        "contact_name": ticket.contact_name, "contact_mobile": ticket.contact_mobile,
        "contact_email": ticket.contact_email, "customer_id": ticket.customer_id,
        "enrichment_status": "partial" if failed else ticket.enrichment_status,
        "enrichment_error": ticket.enrichment_error, "enriched_at": ticket.enriched_at,
        "enrichment_failure": {"reason": ticket.enrichment_error or "",
                               "at": ticket.enriched_at} if failed else None,
        # an imported ticket whose source gave no time: when the hub stored it
        "created_at": ticket.created_at or ticket.updated_at, "category": ticket.category,
        "priority": priority if priority in _PRIORITIES else "normal",
        "external_ref": ticket.external_ref, "customer": customer, "history": history,
        "summary": summary, "sources": sources, "resolved_at": ticket.resolved_at,
        "resolution": resolution_view(ticket.resolution),
    }


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class TicketUpdate(BaseModel):
    """The fields an agent may change; absent fields stay as they are. Resolving is
    `POST /tickets/{id}/resolve` (it owes write-backs), not a status change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"priority": "high", "status": "pending"}]})

    # Absent: unchanged (None here); null is refused except for the category (it clears it),
    # so the document shows these four without null and without a default.
    subject: str = Field(default=None, min_length=1, max_length=500,  # type: ignore[assignment]
                         json_schema_extra=_no_default)
    description: str = Field(default=None, max_length=20000,  # type: ignore[assignment]
                             json_schema_extra=_no_default)
    category: str | None = Field(default=None, max_length=64,
                                 description="null clears the category")
    priority: Priority = Field(default=None,  # type: ignore[assignment]
                               json_schema_extra=_no_default)
    status: EditableStatus = Field(default=None,  # type: ignore[assignment]
                                 json_schema_extra=_no_default)

class TicketFilter(BaseModel):
    """What `GET /tickets` narrows the list to; every given condition must hold."""

    status: list[str] | None = None
    customer_id: int | None = None
    category: str | None = None
    priority: str | None = None
    channel: str | None = None
    created_since: datetime | None = None
    created_until: datetime | None = None
    q: str | None = Field(default=None, description="the subject contains this (any case)")


class TicketPage(BaseModel):
    """One page of tickets, newest first; `next_cursor` fetches the next (null: no more)."""

    model_config = ConfigDict(json_schema_extra={
        "examples": [{"items": [_TICKET_EXAMPLE], "next_cursor": "dDE6NDI"}]})

    items: list[TicketPublic]
    next_cursor: str | None = None

@dataclass(frozen=True, slots=True)
class VersionedTicket:
    """A ticket and its version: a strong ETag, the hash of its representation without kb
    suggestions, so it changes with any change the answer shows (fields, enrichment,
    resolution, the state of its write-backs)."""

    ticket: TicketPublic
    etag: str


@dataclass(frozen=True, slots=True)
class VersionedJson:
    """`VersionedTicket` serialized: the body of `GET /tickets/{id}` and its ETag."""

    body: bytes
    etag: str
