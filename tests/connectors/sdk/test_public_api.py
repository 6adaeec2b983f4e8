"""The SDK's public surface: each module's sorted `__all__`, pinned; nothing public beside it."""

from __future__ import annotations

import importlib
import types
from pathlib import Path

import pytest

import connectors.sdk as sdk

ROOT = [
    "AuthError", "Batch", "CheckResult", "ConfigError", "Connector", "ConnectorConfig",
    "ConnectorError", "HttpClient", "NotFoundError", "OutcomeUnknownError",
    "QuotaExceededError", "RateLimitedError", "RejectedError", "RetriableError", "RetryPolicy",
    "Slice", "Stream", "TransientError", "json_body",
]
TOPICS: dict[str, list[str]] = {
    "auth": [
        "ApiKeyAuth", "BasicAuth", "BearerAuth", "CachedToken", "ClientAuthMethod",
        "MemoryTokenCache", "OAuth2ClientCredentials", "OAuth2Provider", "OAuth2RefreshToken",
        "TokenAuth", "TokenCache", "TokenLease", "TokenProvider", "token_cache_key",
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
        "QuotaExceededError", "RateLimitedError", "RejectedError", "RetriableError",
        "TransientError",
    ],
    "http": [
        "CallHook", "CallRecord", "HttpClient", "RetryPolicy", "SendStats", "json_body",
        "parse_retry_after", "read_json",
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
    "ratelimit": ["BudgetStore", "MemoryBudgetStore", "PROCESS_BUDGETS", "RateBudget", "RateCap",
                  "RateLimit"],
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


def test_root__exports_exactly_its_pinned_sorted_names() -> None:
    assert sdk.__all__ == ROOT
    assert public_names(sdk) == set(ROOT)
    assert len(ROOT) <= 20


def test_root__names_are_their_topic_modules_objects() -> None:
    homes = {name: topic for topic, names in TOPICS.items() for name in names}
    for name in set(ROOT) & set(homes):  # Connector, ConnectorConfig, CheckResult: root only
        topic = importlib.import_module(f"connectors.sdk.{homes[name]}")
        assert getattr(sdk, name) is getattr(topic, name)


BORN_IN_A_TOPIC = {"token_cache_key", "read_json", "RateCap"}  # never in the root: not moved
MOVED = sorted({(name, f"connectors.sdk.{topic}") for topic, names in TOPICS.items()
                for name in names if name not in ROOT and name not in BORN_IN_A_TOPIC}
               | {("DingTalkRobotSigner", "connectors.dingtalk")})


@pytest.mark.parametrize(("name", "home"), MOVED)
def test_root__a_moved_name_fails_naming_its_new_home(name: str, home: str) -> None:
    message = f"connectors.sdk.{name} moved: import it from {home}"
    with pytest.raises(ImportError, match=rf"^{message}$"):
        exec(f"from connectors.sdk import {name}", {})  # the statement a plugin would write
    with pytest.raises(ImportError, match=rf"^{message}$"):
        getattr(sdk, name)
    assert hasattr(importlib.import_module(home), name)


def test_root__an_unknown_name_is_a_plain_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        getattr(sdk, "NoSuchThing")  # noqa: B009 - the name must not be resolved statically


def test_package__ships_py_typed_for_plugins_type_checkers() -> None:
    assert (Path(sdk.__file__).parent / "py.typed").is_file()
