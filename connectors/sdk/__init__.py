"""What a connector plugin imports: the Connector base, streams, HTTP client, typed errors."""

from ._auth import ApiKeyAuth, BearerAuth
from ._capabilities import CustomerDirectory
from ._config import ConnectorConfig
from ._connector import CheckResult, Connector
from ._errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    RetriableError,
    TransientError,
)
from ._http import CallHook, CallRecord, HttpClient, RetryPolicy, parse_retry_after
from ._redact import MASK, Redactor, install_log_redaction, is_sensitive_name, secret_values
from ._registry import ENTRY_POINT_GROUP, ConnectorInfo, available_connectors, load_connector
from ._streams import Batch, Stream

__all__ = [
    "ENTRY_POINT_GROUP",
    "MASK",
    "ApiKeyAuth",
    "AuthError",
    "Batch",
    "BearerAuth",
    "CallHook",
    "CallRecord",
    "CheckResult",
    "ConfigError",
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "ConnectorInfo",
    "CustomerDirectory",
    "HttpClient",
    "NotFoundError",
    "OutcomeUnknownError",
    "RateLimitedError",
    "RejectedError",
    "RetriableError",
    "RetryPolicy",
    "Redactor",
    "Stream",
    "TransientError",
    "available_connectors",
    "install_log_redaction",
    "is_sensitive_name",
    "load_connector",
    "parse_retry_after",
    "secret_values",
]
