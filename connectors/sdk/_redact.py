"""Masking of secrets in URLs, text and mappings before anything is logged or audited."""

from __future__ import annotations

import base64
import bisect
import functools
import logging
import re
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

__all__ = [
    "MASK",
    "SENSITIVE_NAMES",
    "Redactor",
    "install_log_redaction",
    "is_sensitive_name",
    "register_credential",
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
        "accesstoken", "auth_token", "x-auth-token", "suite_access_token", "usertoken",
        "user_token",
        # session cookies and their header and field forms (Kingdee K/3 Cloud, ASP.NET, Java)
        "kdservice-sessionid", "kdsvcsessionid", "asp.net_sessionid", "sid", "sessionid",
        "session_id", "jsessionid",
    )
)

_MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words
_UNRESERVED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
_JSON_SHORT = {"\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f"}
# `name=value`, `name: value`, `"name": "value"` (JSON, escaped JSON too) and `name%3Dvalue`
# of sensitive names inside free text (URLs in log lines, echoed headers, vendor error
# bodies); an auth scheme (`Basic`, `Bearer`…) is kept, the name kept, the value masked.
_VALUE = r"(?:[^\s&\"',;\\<>)}\]]|\\+/|\\+u[0-9a-fA-F]{4})+"
_NAMES = "|".join(re.escape(n) for n in sorted(SENSITIVE_NAMES, key=len, reverse=True))
_NAMED_VALUE = re.compile(
    r"(?i)(?:(?<![\w-])|(?<=%[0-9a-f]{2}))(" + _NAMES
    + r")(\\*[\"']?\s*(?:[=:]|%3d)\s*\\*[\"']?\s*)((?:bearer|basic|digest|token)\s+)?("
    + _VALUE + ")"
)


_SCHEMES = frozenset({"bearer", "basic", "digest", "token"})
_PROSE_WORD = re.compile(r"[a-z]+")
_PROSE_AFTER = re.compile(r" [^\W\d_]")


def _is_prose(match: re.Match[str]) -> bool:
    """Whether a `name: value` match is the hub's own words, not a credential: a bare scheme
    (`Authorization: Bearer <token>` in help text) or, after an unquoted colon, a lower-case
    word that a sentence goes on from (`token: token endpoint unreachable`)."""
    value = match.group(4)
    if match.group(3) is None and value.lower() in _SCHEMES:
        return True
    separator = match.group(2)
    return (":" in separator and not any(q in separator for q in "\"'\\")
            and _PROSE_WORD.fullmatch(value) is not None
            and _PROSE_AFTER.match(match.string, match.end()) is not None)


def _mask_named(match: re.Match[str]) -> str:
    if _is_prose(match):
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{match.group(3) or ''}{MASK}"


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


def _char_forms(char: str) -> str:
    r"""A regex for one character of a secret as a vendor may write it back: itself, JSON's
    `\uXXXX` / `\/` / `\n` escapes (any number of backslashes: JSON inside JSON), and
    percent-encoding (once or twice, either case of hex)."""
    if char in _UNRESERVED:
        return re.escape(char)
    utf8 = char.encode("utf-8")
    units = char.encode("utf-16-be")
    forms = [
        re.escape(char),
        "".join(rf"\\+u(?i:{units[i:i + 2].hex()})" for i in range(0, len(units), 2)),
        "".join(f"(?i:%(?:25)?{byte:02x})" for byte in utf8),
    ]
    if char in '/"\\':
        forms.append(r"\\+" + re.escape(char))
    if char in _JSON_SHORT:
        forms.append(r"\\+" + _JSON_SHORT[char])
    if char == " ":
        forms.append(r"\+")
    return "(?:" + "|".join(forms) + ")"


def _secret_pattern(secret: str) -> str:
    """A regex matching `secret` raw, JSON-escaped or percent-encoded."""
    return "".join(_char_forms(char) for char in secret)


def _with_base64(secrets: Iterable[str]) -> set[str]:
    """The secrets long enough to mask, and each one's Base64 (with and without padding)."""
    found: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_LENGTH:
            encoded = base64.b64encode(secret.encode("utf-8")).decode("ascii")
            found |= {secret, encoded, encoded.rstrip("=")}
    return found


def _compile(secrets: Iterable[str]) -> re.Pattern[str] | None:
    # Longest first so a secret that contains another is masked whole.
    ordered = sorted(secrets, key=len, reverse=True)
    return re.compile("|".join(_secret_pattern(s) for s in ordered)) if ordered else None


@functools.lru_cache(maxsize=4096)
def _anchor(secret: str) -> str:
    """The longest run of `secret`'s unreserved characters: every written form of the secret
    holds it as it is (only other characters are escaped or encoded), so a text without it
    cannot hold the secret."""
    runs = re.findall(r"[A-Za-z0-9._~-]+", secret)
    return max(runs, key=len) if runs else ""


@functools.lru_cache(maxsize=1024)
def _compiled_value(value: str) -> re.Pattern[str]:
    return re.compile(_secret_pattern(value))


@dataclass(frozen=True)
class _Known:
    """Every registered value with its anchor, ordered by anchor length (then value
    length), longest first: a value that contains another has an anchor at least as long,
    so it is masked whole before the other. `lengths` (negated anchor lengths, ascending)
    lets a text skip at once every value whose anchor is longer than the text itself."""

    entries: tuple[tuple[str, str], ...] = ()  # (anchor, value)
    lengths: tuple[int, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> _Known:
        entries = sorted(((_anchor(value), value) for value in values),
                         key=lambda entry: (len(entry[0]), len(entry[1])), reverse=True)
        return cls(tuple(entries), tuple(-len(anchor) for anchor, _ in entries))

    def mask(self, text: str) -> str:
        for anchor, value in self.entries[bisect.bisect_left(self.lengths, -len(text)):]:
            if anchor in text:
                text = _compiled_value(value).sub(MASK, text)
        return text


class _DerivedCredentials:
    """Credentials the SDK derives or fetches at run time (Basic values, access tokens,
    session ids, signatures), known to every Redactor of the process.

    Each belongs to a `slot` (e.g. ``token:dingtalk:<appkey>``) that keeps its latest
    64 values: a long-running process renews tokens and signs every request,
    and the set must not grow without end. Registering compiles nothing (a signature is
    registered per request, and a pattern of many values takes milliseconds to compile): a
    value's pattern is compiled when a text first holds its anchor.
    """

    _KEEP_PER_SLOT = 3 * 64  # 64 values with their two Base64 forms: more than sends in flight

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, deque[str]] = {}
        self._known = _Known()

    def remember(self, slot: str, values: Iterable[str]) -> None:
        fresh = _with_base64(values)
        with self._lock:
            kept = self._slots.setdefault(slot, deque(maxlen=self._KEEP_PER_SLOT))
            fresh -= set(kept)
            if not fresh:
                return
            kept.extend(sorted(fresh))
            # Built anew and swapped in whole: readers in other threads never see it half-built.
            self._known = _Known.of(value for values in self._slots.values() for value in values)

    def mask(self, text: str) -> str:
        return self._known.mask(text)


_DERIVED = _DerivedCredentials()


def register_credential(*values: str, slot: str) -> None:
    """Make every Redactor of the process mask `values`: credentials the SDK (or a
    connector) derived or fetched, e.g. a Basic value, an access token, a session id or a
    request signature. `slot` names where they come from; it keeps its latest values only.
    Values shorter than four characters are ignored."""
    _DERIVED.remember(slot, values)


class Redactor:
    r"""Masks known secret values anywhere in text, and sensitive names in URLs and mappings.

    A secret is masked raw, JSON-escaped (`\/`, `\u002b`…), percent-encoded and in Base64;
    so is every credential registered with `register_credential` (process-wide).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        fresh = _with_base64(secrets) - self._secrets
        if not fresh:
            return
        self._secrets |= fresh
        self._pattern = _compile(self._secrets)

    def text(self, value: str) -> str:
        if self._pattern is not None:
            value = self._pattern.sub(MASK, value)
        value = _DERIVED.mask(value)
        return _NAMED_VALUE.sub(_mask_named, value)

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

    def mapping(self, value: Any, *, memo: dict[str, str] | None = None) -> Any:
        """A copy of a JSON-like value with sensitive keys and known secrets masked.

        `memo`: the strings masked so far, kept by a caller that masks many values with the
        same strings in them (an audit append of a page's rows), so each is masked once."""
        if isinstance(value, Mapping):
            return {
                k: MASK if isinstance(k, str) and is_sensitive_name(k)
                else self.mapping(v, memo=memo)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.mapping(v, memo=memo) for v in value]
        if isinstance(value, str):
            if memo is None:
                return self.text(value)
            masked = memo.get(value)
            if masked is None:
                masked = memo[value] = self.text(value)
            return masked
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
