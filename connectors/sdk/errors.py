"""The connector error tree (drawn in `_errors`): what kind of failure, with its context."""

from ._errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    NotFoundError,
    OutcomeUnknownError,
    QuotaExceededError,
    RateLimitedError,
    RejectedError,
    RetriableError,
    TransientError,
)

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
