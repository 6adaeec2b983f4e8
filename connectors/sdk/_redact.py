"""Masking of secrets in URLs, text and mappings before anything is logged or audited."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

__all__ = [
    "MASK",
    "SENSITIVE_NAMES",
    "Redactor",
    "install_log_redaction",
    "is_sensitive_name",
    "secret_values",
]

MASK = "***"

# Parameter, header and field names whose values are secrets, whatever the vendor.
SENSITIVE_NAMES = frozenset(
    name.lower()
    for name in (
        "access_token", "refresh_token", "id_token", "token", "api_key", "apikey", "x-api-key",
        "appsecret", "app_secret", "client_secret", "secret", "password", "passwd", "pwd",
        "sign", "signature", "authorization", "proxy-authorization", "cookie", "set-cookie",
        "x-api-signature", "x-kd-signature", "x-kd-appsecret", "x-acs-dingtalk-access-token",
        "corpsecret", "suitesecret", "encodingaeskey", "aeskey", "key", "msg_signature",
        # session cookies and their header forms (Kingdee K/3 Cloud, ASP.NET)
        "kdservice-sessionid", "asp.net_sessionid", "sid",
    )
)

_MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words
# `name=value` and `name: value` pairs of sensitive names inside free text (URLs in log lines,
# echoed headers); the name is kept, the value masked.
_NAMED_VALUE = re.compile(
    r"(?i)(?<![\w-])(" + "|".join(re.escape(n) for n in sorted(SENSITIVE_NAMES, key=len,
                                                                  reverse=True))
    + r")(\s*[=:]\s*)(?:bearer\s+|basic\s+)?([^\s&\"',;]+)"
)


def is_sensitive_name(name: str) -> bool:
    return name.lower() in SENSITIVE_NAMES


def secret_values(config: BaseModel) -> list[str]:
    """Every SecretStr value in a (possibly nested) pydantic config."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(config)
    return found


class Redactor:
    """Masks known secret values anywhere in text, and sensitive names in URLs and mappings."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        fresh = {s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH} - self._secrets
        if not fresh:
            return
        self._secrets |= fresh
        # Longest first so a secret that contains another is masked whole.
        ordered = sorted(self._secrets, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def text(self, value: str) -> str:
        if self._pattern is not None:
            value = self._pattern.sub(MASK, value)
        return _NAMED_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", value)

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, MASK if is_sensitive_name(k) else v) for k, v in pairs])
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    def mapping(self, value: Any) -> Any:
        """A copy of a JSON-like value with sensitive keys and known secrets masked."""
        if isinstance(value, Mapping):
            return {
                k: MASK if isinstance(k, str) and is_sensitive_name(k) else self.mapping(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.mapping(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


# Every secret any connector in this process was configured with, for the log filter below.
PROCESS_REDACTOR = Redactor()


class _RedactingFilter(logging.Filter):
    """Masks secrets in records of loggers we do not own (httpx logs every URL it calls)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = PROCESS_REDACTOR.text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = _RedactingFilter()
# A logger's filters do not see its children's records, so the children that log request
# and response lines are named too.
_LOGGERS = ("httpx", "httpcore", "httpcore.http11", "httpcore.http2", "httpcore.connection",
            "httpcore.proxy", "connectors", "connectors.http", "hub", "uvicorn.error",
            "uvicorn.access", "authlib")


def install_log_redaction(*secrets: str) -> None:
    """Register secrets and make sure the usual loggers mask them (idempotent)."""
    PROCESS_REDACTOR.add(*secrets)
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
