"""Typed connector errors.

The tree, which alone drives retries and how the hub reports a failure::

    ConnectorError                 root of the connector layer
    ├── ConfigError                the connection's config is unusable
    ├── AuthError                  credentials refused (401/403, vendor auth codes)
    ├── RetriableError             worth retrying: the budget ran out before it succeeded
    │   ├── RateLimitedError       429 or a vendor rate-limit code
    │   ├── TransientError         5xx, connection refused, timeouts on reads
    │   └── QuotaExceededError     a quota spent until `retry_after` (not retried in the call)
    ├── RejectedError              the vendor understood and said no (its code and message)
    │   └── NotFoundError          the thing asked for does not exist
    └── OutcomeUnknownError        a write whose response was lost: it may have happened

Every error carries context (connector, connection, operation, status, vendor code, record
key) and never a secret or a whole record: messages are redacted before they are built.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "ConnectorError",
    "NotFoundError",
    "OutcomeUnknownError",
    "QuotaExceededError",
    "RateLimitedError",
    "RejectedError",
    "RetriableError",
    "TransientError",
]


class ConnectorError(Exception):
    """Root of every error a connector raises."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        connector: str | None = None,
        connection: str | None = None,
        operation: str | None = None,
        status: int | None = None,
        vendor_code: str | None = None,
        record_key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.connector = connector
        self.connection = connection
        self.operation = operation
        self.status = status
        self.vendor_code = vendor_code
        self.record_key = record_key

    def __str__(self) -> str:
        where = []
        if self.connection:
            where.append(f"connection '{self.connection}'")
        elif self.connector:
            where.append(f"connector '{self.connector}'")
        if self.operation:
            where.append(self.operation)
        if self.record_key:
            where.append(f"record {self.record_key}")
        prefix = ", ".join(where)
        detail = []
        if self.status is not None:
            detail.append(f"HTTP {self.status}")
        if self.vendor_code:
            detail.append(self.vendor_code)
        suffix = f" ({' '.join(detail)})" if detail else ""
        return f"{prefix}: {self.message}{suffix}" if prefix else f"{self.message}{suffix}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ConfigError(ConnectorError):
    kind = "config"


class AuthError(ConnectorError):
    kind = "auth"


class RetriableError(ConnectorError):
    kind = "retriable"


class RateLimitedError(RetriableError):
    kind = "rate_limited"

    def __init__(
        self, message: str, *, retry_after: float | None = None, **context: object
    ) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.retry_after = retry_after


class TransientError(RetriableError):
    """A failure that may pass; `never_sent` means the request provably never reached the
    server (connection refused), so even a non-idempotent write may be sent again."""

    kind = "transient"

    def __init__(self, message: str, *, never_sent: bool = False, **context: object) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.never_sent = never_sent


class QuotaExceededError(RetriableError):
    """A quota (a vendor's, or the connector's guard of it: token fetches a day) is spent for
    `retry_after` seconds; nothing was sent. Not retried within the call (the wait is long):
    the caller tries again after it."""

    kind = "quota"

    def __init__(
        self, message: str, *, retry_after: float | None = None, **context: object
    ) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.retry_after = retry_after


class RejectedError(ConnectorError):
    kind = "rejected"


class NotFoundError(RejectedError):
    kind = "not_found"


class OutcomeUnknownError(ConnectorError):
    kind = "outcome_unknown"
