"""The audit log: an append-only chain of records, keyed and checkpointed, and its query."""

from hub.audit.chain import (
    GENESIS,
    AuditEntry,
    AuditLog,
    VerifyResult,
    call_entry,
    fit,
)

__all__ = [
    "AuditEntry",
    "AuditLog",
    "GENESIS",
    "VerifyResult",
    "call_entry",
    "fit",
]
