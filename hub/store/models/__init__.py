"""The store's tables as typed SQLAlchemy 2.0 models, by domain. Alembic migrations own the
schema; every model is imported from here (`from hub.store.models import Ticket`)."""

from hub.store.models.access import ApiKey, IdempotencyRecord
from hub.store.models.audit import AuditHead, AuditRecord
from hub.store.models.base import Base, include_name
from hub.store.models.customers import Customer, CustomerSnapshot, ExternalRecord
from hub.store.models.history import HistoryRow, Interaction, Order
from hub.store.models.jobs import (
    Import,
    ImportReject,
    JobLease,
    JobSchedule,
    Run,
    RunSlice,
    SyncState,
)
from hub.store.models.kb import Article
from hub.store.models.kf import KfCursor, KfMessage, KfReply
from hub.store.models.notify import NotifyDelivery
from hub.store.models.outbox import OutboxMessage
from hub.store.models.tickets import (
    TERMINAL_TICKET_STATUSES,
    EnrichmentTask,
    NotifyFiring,
    Ticket,
    WebhookEvent,
)
from hub.store.models.vendors import CallbackNonce, ConnectorToken, RateBudget

__all__ = [
    "ApiKey",
    "Article",
    "AuditHead",
    "AuditRecord",
    "Base",
    "CallbackNonce",
    "ConnectorToken",
    "Customer",
    "CustomerSnapshot",
    "EnrichmentTask",
    "ExternalRecord",
    "HistoryRow",
    "IdempotencyRecord",
    "Import",
    "ImportReject",
    "Interaction",
    "JobLease",
    "JobSchedule",
    "KfCursor",
    "KfMessage",
    "KfReply",
    "NotifyDelivery",
    "NotifyFiring",
    "Order",
    "OutboxMessage",
    "RateBudget",
    "Run",
    "RunSlice",
    "SyncState",
    "TERMINAL_TICKET_STATUSES",
    "Ticket",
    "WebhookEvent",
    "include_name",
]
