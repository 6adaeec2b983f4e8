"""What a connector plugin imports: the Connector base, streams, HTTP client, typed errors."""

from ._auth import ApiKeyAuth, BasicAuth, BearerAuth, TokenAuth
from ._budget import PROCESS_BUDGETS, BudgetStore, MemoryBudgetStore, RateBudget, RateLimit
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
from ._http import CallHook, CallRecord, HttpClient, RetryPolicy, SendStats, parse_retry_after
from ._oauth import (
    ClientAuthMethod,
    OAuth2ClientCredentials,
    OAuth2Provider,
    OAuth2RefreshToken,
)
from ._redact import MASK, Redactor, install_log_redaction, is_sensitive_name, secret_values
from ._registry import ENTRY_POINT_GROUP, ConnectorInfo, available_connectors, load_connector
from ._signing import (
    DingTalkRobotSigner,
    RequestSigner,
    hmac_sha256_base64,
    hmac_sha256_digest,
    hmac_sha256_hex,
)
from ._streams import Batch, Stream
from ._tokens import (
    CachedToken,
    MemoryTokenCache,
    TokenCache,
    TokenLease,
    TokenProvider,
    json_body,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "MASK",
    "PROCESS_BUDGETS",
    "ApiKeyAuth",
    "AuthError",
    "BasicAuth",
    "Batch",
    "BearerAuth",
    "BudgetStore",
    "CachedToken",
    "CallHook",
    "CallRecord",
    "CheckResult",
    "ClientAuthMethod",
    "ConfigError",
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "ConnectorInfo",
    "CustomerDirectory",
    "DingTalkRobotSigner",
    "HttpClient",
    "MemoryBudgetStore",
    "MemoryTokenCache",
    "NotFoundError",
    "OAuth2ClientCredentials",
    "OAuth2Provider",
    "OAuth2RefreshToken",
    "OutcomeUnknownError",
    "RateBudget",
    "RateLimit",
    "RateLimitedError",
    "Redactor",
    "RejectedError",
    "RequestSigner",
    "RetriableError",
    "RetryPolicy",
    "SendStats",
    "Stream",
    "TokenAuth",
    "TokenCache",
    "TokenLease",
    "TokenProvider",
    "TransientError",
    "available_connectors",
    "hmac_sha256_base64",
    "hmac_sha256_digest",
    "hmac_sha256_hex",
    "install_log_redaction",
    "is_sensitive_name",
    "json_body",
    "load_connector",
    "parse_retry_after",
    "secret_values",
]
