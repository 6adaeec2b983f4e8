"""What every connector imports: the Connector base, streams, the HTTP client, typed errors.

The rest of the SDK lives in topic modules, each with its own `__all__`:

* `connectors.sdk.errors` — the error tree (its classes are also here);
* `connectors.sdk.streams` — streams, batches, slices and the incremental cursor;
* `connectors.sdk.http` — the HTTP client, its retry policy, call records and hooks;
* `connectors.sdk.auth` — API keys, Basic, Bearer, vendor tokens and their cache, OAuth 2;
* `connectors.sdk.crypto` — request signing and signed, encrypted callbacks;
* `connectors.sdk.paging` — paginators and `paginate`;
* `connectors.sdk.ratelimit` — rate budgets shared across jobs and processes;
* `connectors.sdk.redaction` — keeping secrets out of logs, errors and recordings;
* `connectors.sdk.capabilities` — customer directories, reference data, writers;
* `connectors.sdk.messaging` — notifiers, group robots, webhook receivers;
* `connectors.sdk.registry` — finding built-in and plugin connectors;
* `connectors.sdk.sandbox`, `connectors.sdk.testing` — serving sandboxes, the conformance suite.

A name that moved to a topic module is not importable from here: the error names its new home.
"""

from ._config import ConnectorConfig
from ._connector import CheckResult, Connector
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
from ._http import HttpClient, RetryPolicy
from ._streams import Batch, Slice, Stream
from ._tokens import json_body

__all__ = [
    "AuthError",
    "Batch",
    "CheckResult",
    "ConfigError",
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "HttpClient",
    "NotFoundError",
    "OutcomeUnknownError",
    "QuotaExceededError",
    "RateLimitedError",
    "RejectedError",
    "RetriableError",
    "RetryPolicy",
    "Slice",
    "Stream",
    "TransientError",
    "json_body",
]

_MOVED_TO_TOPIC: dict[str, tuple[str, ...]] = {
    "auth": (
        "ApiKeyAuth", "BasicAuth", "BearerAuth", "CachedToken", "ClientAuthMethod",
        "MemoryTokenCache", "OAuth2ClientCredentials", "OAuth2Provider", "OAuth2RefreshToken",
        "TokenAuth", "TokenCache", "TokenLease", "TokenProvider",
    ),
    "capabilities": (
        "CustomerDirectory", "ReferenceData", "WriteResult", "WriteStep", "Writer", "WrittenLister",
    ),
    "crypto": (
        "CallbackCrypto", "CallbackCryptoError", "CallbackSignatureError", "MemoryNonceStore",
        "NonceStore", "ReplayedCallbackError", "RequestSigner", "StaleCallbackError", "check_fresh",
        "check_not_replayed", "hmac_sha256_base64", "hmac_sha256_digest", "hmac_sha256_hex",
    ),
    "http": ("CallHook", "CallRecord", "SendStats", "parse_retry_after"),
    "messaging": (
        "Delivery", "InboundEvent", "Message", "Notifier", "Recipient", "RobotPoster",
        "WebhookReceiver", "WebhookReply",
    ),
    "paging": (
        "CursorPaginator", "HeaderCursorPaginator", "LinkPaginator", "NextUrlPaginator",
        "OffsetPaginator", "PAGINATORS", "Page", "PageNumberPaginator", "PageRequest", "PageWalk",
        "Paginator", "PaginatorSpec", "SinglePagePaginator", "find_path", "get_paginator",
        "paginate", "parse_link_header", "select_records",
    ),
    "ratelimit": ("BudgetStore", "MemoryBudgetStore", "PROCESS_BUDGETS", "RateBudget", "RateLimit"),
    "redaction": (
        "MASK", "PROCESS_REDACTOR", "Redactor", "install_log_redaction", "is_sensitive_name",
        "register_credential", "secret_values",
    ),
    "registry": ("ConnectorInfo", "ENTRY_POINT_GROUP", "available_connectors", "load_connector"),
    "streams": ("CursorFormat", "IncrementalCursor", "IncrementalState"),
}
_MOVED: dict[str, str] = {
    **{name: f"connectors.sdk.{topic}" for topic, names in _MOVED_TO_TOPIC.items()
       for name in names},
    "DingTalkRobotSigner": "connectors.dingtalk",
}


def __getattr__(name: str) -> object:
    """A name that moved out of the root fails with its new home, not a bare ImportError."""
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise ImportError(f"connectors.sdk.{name} moved: import it from {home}", name=__name__)
