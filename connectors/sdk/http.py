"""The HTTP client every connector sends through: retries, call records and hooks."""

from ._http import (
    CallHook,
    CallRecord,
    HttpClient,
    RetryPolicy,
    SendStats,
    parse_retry_after,
    read_json,
)
from ._tokens import json_body

__all__ = [
    "CallHook",
    "CallRecord",
    "HttpClient",
    "RetryPolicy",
    "SendStats",
    "json_body",
    "parse_retry_after",
    "read_json",
]
