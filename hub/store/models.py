"""The store's tables as typed SQLAlchemy 2.0 models. Alembic migrations own the schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "TERMINAL_TICKET_STATUSES",
    "Article",
    "Import",
    "ImportReject",
    "ApiKey",
    "IdempotencyRecord",
    "OutboxMessage",
    "AuditHead",
    "CallbackNonce",
    "ConnectorToken",
    "NotifyFiring",
    "WebhookEvent",
    "RateBudget",
    "AuditRecord",
    "Base",
    "Customer",
    "ExternalRecord",
    "Run",
    "SyncState",
    "Ticket",
    "include_name",
    "JobLease",
    "JobSchedule",
    "RunSlice",
]

# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JsonDoc, datetime: Timestamp}


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_customers_source_extid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    tier: Mapped[str | None] = mapped_column(String(32))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[str | None] = mapped_column(String(120))  # name@version that wrote it
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ExternalRecord(Base):
    """The raw record as the source sent it, kept for replay and for tracing a value back."""

    __tablename__ = "external_records"
    __table_args__ = (
        UniqueConstraint("source", "stream", "external_id", name="uq_external_records_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    stream: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime]


# A ticket in one of these is done: no overdue check, no new enrichment when its customer
# changes, and a later message of its conversation opens a new ticket.
TERMINAL_TICKET_STATUSES = ("resolved", "closed")


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), default="open")
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_mobile: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    enrichment_status: Mapped[str] = mapped_column(String(16), default="pending")
    enrichment: Mapped[dict[str, Any] | None]
    enrichment_error: Mapped[str | None] = mapped_column(Text)
    enriched_at: Mapped[datetime | None]
    category: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    # The conversation or device a ticket came from (e.g. "wecom:zhangsan"): later messages
    # of it update the open ticket instead of opening another.
    external_ref: Mapped[str | None] = mapped_column(String(200), index=True)
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[dict[str, Any] | None]  # the last resolution as the agent gave it
    resolutions: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SyncState(Base):
    """A pull job's incremental state, written in the same transaction as its records."""

    __tablename__ = "sync_state"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    # Text: incremental state may carry the keys seen inside a lookback window.
    state: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_job_started", "job", "started_at"),
                      Index("ix_runs_status", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    budget_wait_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mapping: Mapped[str | None] = mapped_column(String(120))  # name@version it mapped with
    error: Mapped[str | None] = mapped_column(Text)
    errors: Mapped[dict[str, Any] | None]
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    slices: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    state_before: Mapped[str | None] = mapped_column(Text)  # the job's state it started from
    deadline_at: Mapped[datetime | None]  # the job's timeout, as a moment


class JobSchedule(Base):
    """A job's timetable state: paused or not, when it is next due, and a trigger asked for
    by hand (`hub jobs trigger`) that the scheduler has not fired yet."""

    __tablename__ = "job_schedules"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    paused_by: Mapped[str | None] = mapped_column(String(200))
    paused_at: Mapped[datetime | None]
    schedule: Mapped[str | None] = mapped_column(String(200))  # the spec next_due_at is from
    next_due_at: Mapped[datetime | None]
    last_fired_at: Mapped[datetime | None]
    trigger_requested_at: Mapped[datetime | None]
    trigger_requested_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class JobLease(Base):
    """Who runs a job now: at most one holder per job, across processes and machines; a
    holder that dies stops renewing and the lease runs out."""

    __tablename__ = "job_leases"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class RunSlice(Base):
    """One part of a run's read (a range of the stream), claimed under a lease by whichever
    worker is free; `state` is its checkpoint, committed with each page of its data."""

    __tablename__ = "run_slices"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="uq_run_slices_seq"),
        Index("ix_run_slices_claim", "run_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    seq: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]]
    state: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    due_at: Mapped[datetime]
    pages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    read: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unchanged: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rejected: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    budget_wait_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    errors: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class AuditRecord(Base):
    """One append-only audit row, chained to the one before it by `prev_hash`."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    target: Mapped[str | None] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(32))
    # Plain JSON text even on PostgreSQL: the hash covers exactly what was written.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The audit key that signed `hash` (HMAC-SHA256); None: a row from before the chain
    # was keyed, linked by plain SHA-256.
    key_id: Mapped[str | None] = mapped_column(String(16))


class AuditHead(Base):
    """The chain's last sequence number and hash, signed (`mac`) with the audit key:
    catches truncation, serialises appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))
    mac: Mapped[str | None] = mapped_column(String(64))


class ConnectorToken(Base):
    """A vendor token cached for every process of the hub, until it expires."""

    __tablename__ = "connector_tokens"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[float | None] = mapped_column(Float)  # Unix seconds
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class RateBudget(Base):
    """A shared request budget's state (GCRA: the theoretical arrival time of the next call)."""

    __tablename__ = "rate_budgets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)  # Unix seconds


class CallbackNonce(Base):
    """A vendor callback's nonce, remembered until it expires: seen again, it is a replay."""

    __tablename__ = "callback_nonces"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # Unix seconds


class WebhookEvent(Base):
    """An accepted inbound callback, once per (connection, vendor event id): retries dedupe."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("connection", "event_id", name="uq_webhook_events_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    sender: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # ticket, ignored, skipped, failed
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    payload: Mapped[dict[str, Any]]  # the decrypted event (never the ciphertext)
    error: Mapped[str | None] = mapped_column(Text)
    deliveries: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class NotifyFiring(Base):
    """A notify rule fired for a ticket in one state: at most once, by the unique key."""

    __tablename__ = "notify_firings"
    __table_args__ = (
        UniqueConstraint("rule", "ticket_id", "state", name="uq_notify_firings_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    state: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # claimed, pending, sent, partial, failed
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    deliveries: Mapped[dict[str, Any] | None]  # {"deliveries": [...]}, secret-free
    error: Mapped[str | None] = mapped_column(Text)
    fired_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Import(Base):
    """One import of a file through a mapping: progress, counts, and where to resume."""

    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_hash_mapping", "content_hash", "mapping"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(500))
    file_path: Mapped[str] = mapped_column(Text)  # where the file is read from (resume)
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the file's bytes
    size: Mapped[int] = mapped_column(Integer)
    mapping: Mapped[str] = mapped_column(String(120))  # name@version
    target: Mapped[str] = mapped_column(String(32))  # customer | ticket
    source: Mapped[str] = mapped_column(String(64))  # customers' source, e.g. "import"
    options: Mapped[dict[str, Any]]  # sheet, header_row, encoding, delimiter
    status: Mapped[str] = mapped_column(String(16))  # queued, running, succeeded, partial,
    #                                                  failed, interrupted
    sheet: Mapped[str | None] = mapped_column(String(200))
    headers: Mapped[dict[str, Any] | None]  # {"columns": [...]} as read
    estimated_rows: Mapped[int | None] = mapped_column(Integer)
    checkpoint_row: Mapped[int] = mapped_column(Integer, default=0)  # last source row done
    batches: Mapped[int] = mapped_column(Integer, default=0)
    read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    report_xlsx: Mapped[str | None] = mapped_column(Text)
    report_csv: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class ImportReject(Base):
    """A row an import could not take, with its values and every error, for the report."""

    __tablename__ = "import_rejects"

    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    values: Mapped[dict[str, Any]]  # {"values": [...]} in the file's column order
    errors: Mapped[dict[str, Any]]  # {"errors": [{"column": ..., "message": ...}]}


class Article(Base):
    """A knowledge-base article pulled from a source, its body kept as plain text."""

    __tablename__ = "articles"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_articles_source_extid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    url: Mapped[str | None] = mapped_column(String(1000))
    source_updated_at: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[str | None] = mapped_column(String(120))  # name@version that wrote it
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OutboxMessage(Base):
    """A write to another system, owed since the ticket change that caused it committed.

    Written in the same transaction as that change. `status`: pending (due at
    `next_attempt_at`; in flight while `lease_until` is in the future), done, or dead (a
    dead letter: the retry budget ran out or the vendor refused; replayable). Rows sharing an
    `ordering_key` are sent one at a time, in id order.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("connection", "action", "idempotency_key", name="uq_outbox_key"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_ordering", "ordering_key", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    ordering_key: Mapped[str] = mapped_column(String(200))
    connection: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[str] = mapped_column(String(120))  # name@version that built `document`
    payload: Mapped[dict[str, Any]]  # the write-back document the mapping read
    document: Mapped[dict[str, Any]]  # what is sent: the mapping's output
    status: Mapped[str] = mapped_column(String(16))  # pending, done, dead
    step: Mapped[str | None] = mapped_column(String(16))  # saved, submitted, done
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    replays: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None]  # the WriteResult: vendor id, number, status
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class ApiKey(Base):
    """A key for the REST API: shown once, stored as a hash, scoped, revocable, expiring."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown; finds the row
    secret_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the whole key
    role: Mapped[str] = mapped_column(String(16))  # agent, integrator, admin
    scopes: Mapped[list[str]] = mapped_column(JsonDoc, default=list)  # e.g. ["pii"]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """The answer to a POST sent with an `Idempotency-Key`, replayed to its repeats."""

    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while in progress
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


# Search structures migration 0007 manages by hand (SQLite's FTS5 table and its shadow
# tables, PostgreSQL's trigram indexes): not models, so autogenerate must leave them alone.
_HAND_MADE_TABLES = "articles_fts"
_HAND_MADE_INDEXES = frozenset({"ix_articles_title_trgm", "ix_articles_body_trgm"})


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Alembic's `include_name` hook: skip what the migrations manage outside the models."""
    if type_ == "table" and name and name.startswith(_HAND_MADE_TABLES):
        return False
    return not (type_ == "index" and name in _HAND_MADE_INDEXES)


class EnrichmentTask(Base):
    """A ticket owed an enrichment, written in the same transaction as the event that owes
    it (created, customer changed); one row per ticket, re-armed by each new event.

    `status`: pending (due at `due_at`; in flight while `lease_until` is in the future),
    done, or failed (the retry budget ran out; the ticket stays partially enriched).
    """

    __tablename__ = "enrichment_queue"
    __table_args__ = (Index("ix_enrichment_queue_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(32))  # created, customer_changed, requested
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CustomerSnapshot(Base):
    """A customer's history as a connection last sent it, fresh for the enrich job's
    `cache_ttl`; `fetch_owner`/`fetch_until` lease the next fetch to one process."""

    __tablename__ = "customer_snapshots"

    connection: Mapped[str] = mapped_column(String(100), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    history: Mapped[dict[str, Any] | None]
    fetched_at: Mapped[datetime | None]
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    fetch_owner: Mapped[str | None] = mapped_column(String(100))
    fetch_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]
