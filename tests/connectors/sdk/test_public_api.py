"""The SDK's public surface: each module's sorted `__all__`, pinned; nothing public beside it."""

from __future__ import annotations

import importlib
import types

import pytest

TOPICS: dict[str, list[str]] = {
    "auth": [
        "ApiKeyAuth", "BasicAuth", "BearerAuth", "CachedToken", "ClientAuthMethod",
        "MemoryTokenCache", "OAuth2ClientCredentials", "OAuth2Provider", "OAuth2RefreshToken",
        "TokenAuth", "TokenCache", "TokenLease", "TokenProvider",
    ],
    "capabilities": [
        "CustomerDirectory", "ReferenceData", "WriteResult", "WriteStep", "Writer", "WrittenLister",
    ],
    "crypto": [
        "CallbackCrypto", "CallbackCryptoError", "CallbackSignatureError", "MemoryNonceStore",
        "NonceStore", "ReplayedCallbackError", "RequestSigner", "StaleCallbackError", "check_fresh",
        "check_not_replayed", "hmac_sha256_base64", "hmac_sha256_digest", "hmac_sha256_hex",
    ],
    "errors": [
        "AuthError", "ConfigError", "ConnectorError", "NotFoundError", "OutcomeUnknownError",
        "RateLimitedError", "RejectedError", "RetriableError", "TransientError",
    ],
    "http": [
        "CallHook", "CallRecord", "HttpClient", "RetryPolicy", "SendStats", "json_body",
        "parse_retry_after",
    ],
    "messaging": [
        "Delivery", "InboundEvent", "Message", "Notifier", "Recipient", "RobotPoster",
        "WebhookReceiver", "WebhookReply",
    ],
    "paging": [
        "CursorPaginator", "HeaderCursorPaginator", "LinkPaginator", "NextUrlPaginator",
        "OffsetPaginator", "PAGINATORS", "Page", "PageNumberPaginator", "PageRequest", "PageWalk",
        "Paginator", "PaginatorSpec", "SinglePagePaginator", "find_path", "get_paginator",
        "paginate", "parse_link_header", "select_records",
    ],
    "ratelimit": ["BudgetStore", "MemoryBudgetStore", "PROCESS_BUDGETS", "RateBudget", "RateLimit"],
    "redaction": [
        "MASK", "PROCESS_REDACTOR", "Redactor", "install_log_redaction", "is_sensitive_name",
        "register_credential", "secret_values",
    ],
    "registry": ["ConnectorInfo", "ENTRY_POINT_GROUP", "available_connectors", "load_connector"],
    "streams": [
        "Batch", "CursorFormat", "IncrementalCursor", "IncrementalState", "Slice", "Stream",
    ],
}


def public_names(module: types.ModuleType) -> set[str]:
    return {name for name, value in vars(module).items()
            if not name.startswith("_") and not isinstance(value, types.ModuleType)
            and name != "annotations"}


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_topic__exports_exactly_its_pinned_sorted_names(topic: str) -> None:
    module = importlib.import_module(f"connectors.sdk.{topic}")
    assert module.__all__ == TOPICS[topic]
    assert module.__all__ == sorted(module.__all__)
    assert public_names(module) == set(module.__all__)


def test_topics__each_name_has_one_home() -> None:
    homes = [name for names in TOPICS.values() for name in names]
    assert len(homes) == len(set(homes))
