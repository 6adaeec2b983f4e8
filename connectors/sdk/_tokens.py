"""Vendor access tokens: what is cached, where, and how a vendor's token endpoint is called.

A connector whose vendor hands out short-lived tokens writes one `TokenProvider` (one required
method, `fetch`) and returns ``TokenAuth(provider, cache, key)`` (in `_auth.py`) from its
`auth()` hook. The cache is a protocol: `MemoryTokenCache` serves one process; the hub's
store-backed cache (which also offers a `TokenLease`) serves every process of a deployment.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import httpx
from pydantic import SecretStr

from ._budget import RateCap
from ._errors import AuthError, QuotaExceededError, RateLimitedError, TransientError
from ._http import parse_retry_after, read_json
from ._redact import Redactor

__all__ = [
    "CachedToken",
    "MemoryTokenCache",
    "TokenCache",
    "TokenLease",
    "TokenProvider",
    "json_body",
    "token_cache_key",
]

_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
DEFAULT_MARGIN = 300.0  # seconds before expiry at which a token is renewed, at most
MARGIN_SHARE = 0.1  # ... and at most this share of the token's lifetime


@dataclass(frozen=True, slots=True)
class CachedToken:
    """One vendor token as the cache holds it. Its repr never shows a token value.

    Attributes:
        access_token: the token sent with requests.
        refresh_token: the token that buys the next one, when the vendor issues one.
        expires_at: Unix seconds after which the vendor no longer accepts it; None if unknown.
        issued_at: Unix seconds when it was obtained (for the lifetime-based renewal margin).
        extra: JSON-able vendor details worth keeping (token type, scope, ...); no secrets.
    """

    access_token: SecretStr
    refresh_token: SecretStr | None = None
    expires_at: float | None = None
    issued_at: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def issue(
        cls,
        access_token: str,
        *,
        expires_in: float | None = None,
        refresh_token: str | None = None,
        extra: Mapping[str, Any] | None = None,
        now: float | None = None,
    ) -> CachedToken:
        """A token just received from a vendor that said it lives `expires_in` seconds."""
        issued = time.time() if now is None else now
        return cls(
            access_token=SecretStr(access_token),
            refresh_token=SecretStr(refresh_token) if refresh_token else None,
            expires_at=issued + float(expires_in) if expires_in is not None else None,
            issued_at=issued,
            extra=dict(extra or {}),
        )

    @property
    def lifetime(self) -> float | None:
        """Seconds between issue and expiry, when both are known."""
        if self.expires_at is None or self.issued_at is None:
            return None
        return self.expires_at - self.issued_at

    def __repr__(self) -> str:
        refresh = "***" if self.refresh_token is not None else None
        return (f"CachedToken(access_token=***, refresh_token={refresh}, "
                f"expires_at={self.expires_at!r}, extra_keys={sorted(self.extra)!r})")


def token_cache_key(*parts: str, secret: SecretStr) -> str:
    """The cache key of a token bought with `secret`: `parts` joined by ``:`` and a digest of
    the secret (never the secret), so a connection whose secret differs — a typo, a rotated
    secret — never gets the token another one bought.

    Example:
        ``token_cache_key("wecom", corp_id, agent_id, secret=config.corp_secret)`` →
        ``"wecom:ww1:1000002:s-3f0c…"`` (16 hex digits of SHA-256).
    """
    digest = hashlib.sha256(b"hub-token-key\0" + secret.get_secret_value().encode()).hexdigest()
    return ":".join([*parts, "s-" + digest[:16]])


@runtime_checkable
class TokenCache(Protocol):
    """Where tokens live between requests, keyed by e.g. ``"dingtalk:<appkey>"``."""

    async def get(self, key: str) -> CachedToken | None:
        """The token stored under `key`, expired or not; None when there is none."""

    async def put(self, key: str, token: CachedToken) -> None:
        """Store `token` under `key`, replacing whatever was there."""

    async def delete(self, key: str, *, access_token: str | None = None) -> bool:
        """Drop the token under `key`; with `access_token`, only if it is still that token
        (compare-and-delete: a newer token fetched meanwhile is kept). True if one was dropped."""


@runtime_checkable
class TokenLease(Protocol):
    """Optional for a TokenCache shared by processes: a short lease so that only one process
    at a time calls the token endpoint for a key (single-flight across processes)."""

    async def acquire_lease(self, key: str, *, owner: str, ttl: float) -> bool:
        """Take the lease on `key` for `ttl` seconds unless another owner holds a live one."""

    async def release_lease(self, key: str, *, owner: str) -> None:
        """Give the lease back, if `owner` still holds it."""


class MemoryTokenCache:
    """A TokenCache for one process (tests, the CLI, single-process deployments)."""

    def __init__(self) -> None:
        self._tokens: dict[str, CachedToken] = {}

    async def get(self, key: str) -> CachedToken | None:
        return self._tokens.get(key)

    async def put(self, key: str, token: CachedToken) -> None:
        self._tokens[key] = token

    async def delete(self, key: str, *, access_token: str | None = None) -> bool:
        current = self._tokens.get(key)
        if current is None:
            return False
        if access_token is not None and current.access_token.get_secret_value() != access_token:
            return False
        del self._tokens[key]
        return True

    def __repr__(self) -> str:
        return f"MemoryTokenCache(keys={sorted(self._tokens)!r})"


def json_body(response: httpx.Response) -> Any:
    """The response's JSON, or None when the body is not JSON."""
    try:
        return read_json(response)
    except ValueError:
        return None


class TokenProvider(ABC):
    """How one vendor issues and accepts tokens. Subclass it and implement `fetch`.

    The class attributes say where `apply` puts the token: `header` with `scheme` (default
    ``Authorization: Bearer <token>``), or the `query` parameter when it is set (DingTalk's
    legacy API and WeCom use ``query = "access_token"``; DingTalk's new API uses
    ``header = "x-acs-dingtalk-access-token"`` with ``scheme = None``).

    Example:
        ```python
        class WeComTokens(TokenProvider):
            query = "access_token"

            def __init__(self, corp_id: str, secret: SecretStr) -> None:
                self.corp_id, self.secret = corp_id, secret

            async def fetch(self, client: httpx.AsyncClient) -> CachedToken:
                response = await self.request_token(client, "GET", GETTOKEN_URL, params={
                    "corpid": self.corp_id, "corpsecret": self.secret.get_secret_value()})
                body = json_body(response) or {}
                if body.get("errcode") != 0:
                    raise self.refused(body.get("errmsg"), vendor_code=body.get("errcode"))
                return CachedToken.issue(body["access_token"], expires_in=body["expires_in"])

            def is_token_invalid(self, response: httpx.Response) -> bool:
                return (json_body(response) or {}).get("errcode") in (40014, 42001)
        ```
    """

    header: ClassVar[str] = "Authorization"
    scheme: ClassVar[str | None] = "Bearer"
    query: ClassVar[str | None] = None

    @abstractmethod
    async def fetch(self, client: httpx.AsyncClient) -> CachedToken:
        """Call the vendor's token endpoint with `client` and return the new token.

        Raises:
            AuthError: the vendor refused the credentials (retrying will not help).
            TransientError: the endpoint could not be reached or failed; worth retrying.
        """

    async def refresh(
        self, client: httpx.AsyncClient, token: CachedToken  # noqa: ARG002 -- a hook
    ) -> CachedToken:
        """Renew `token` (called instead of `fetch` when it carries a refresh token)."""
        return await self.fetch(client)

    def is_token_invalid(self, response: httpx.Response) -> bool:
        """True when `response` says the token was invalid or expired (default: HTTP 401).
        The body has been read, so vendors that answer 200 with an error code can look."""
        return response.status_code == 401

    def apply(self, request: httpx.Request, token: CachedToken) -> None:
        """Put the token on `request` (replacing any token from an earlier attempt)."""
        value = token.access_token.get_secret_value()
        if self.query is not None:
            request.url = request.url.copy_set_param(self.query, value)
        else:
            request.headers[self.header] = f"{self.scheme} {value}" if self.scheme else value

    def expiry_margin(self, token: CachedToken) -> float:
        """Seconds before expiry at which the token is renewed: 300, or a tenth of its
        lifetime when that is shorter."""
        lifetime = token.lifetime
        if lifetime is None:
            return DEFAULT_MARGIN
        return max(0.0, min(DEFAULT_MARGIN, MARGIN_SHARE * lifetime))

    def secret_values(self) -> list[str]:
        """Values masked in every error this provider raises (default: its SecretStr
        attributes)."""
        return [v.get_secret_value() for v in vars(self).values() if isinstance(v, SecretStr)]

    async def count_fetch(self, cap: RateCap | None) -> None:
        """Count one call of the token endpoint against `cap` (the vendor's fetches-a-day
        cap, shared by every process through the budget store) before making it.

        Raises:
            QuotaExceededError: the cap is spent; nothing was sent, and the error says when
                the next fetch may go (`retry_after`).
        """
        if cap is None:
            return
        wait = await cap.take()
        if wait is not None:
            raise QuotaExceededError(
                f"token fetch not sent: this app already fetched {cap.limit} tokens in "
                f"{cap.period / 3600:g} h, its cap (a vendor blocks an app that fetches "
                f"tokens too often); the next fetch may go in {wait:.0f} s",
                operation="token", retry_after=wait)

    def refused(self, message: object, *, status: int | None = None,
                vendor_code: object = None) -> AuthError:
        """An AuthError for a token endpoint that refused the credentials, secrets masked."""
        text = Redactor(self.secret_values()).text(str(message or "credentials refused"))
        return AuthError(
            f"token endpoint refused the credentials: {text}", operation="token", status=status,
            vendor_code=str(vendor_code) if vendor_code is not None else None,
        )

    async def request_token(
        self, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        """Send a token request; transport errors, 429, 5xx and 4xx become typed errors.

        A 2xx response is returned as is: vendors that answer 200 with an error code must
        check the body themselves (and raise `self.refused(...)`).
        """
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            # The exception text can carry the URL, and the URL the credentials: name the type.
            reason = f"token endpoint unreachable ({type(exc).__name__})"
            raise TransientError(reason, operation="token",
                                 never_sent=isinstance(exc, _NEVER_SENT)) from None
        status = response.status_code
        if status < 400:
            return response
        code, message = _error_of(json_body(response), response.reason_phrase)
        if status == 429:
            raise RateLimitedError(
                "token endpoint rate-limited", operation="token", status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                vendor_code=code,
            )
        if status >= 500:
            raise TransientError("token endpoint failed", operation="token", status=status,
                                 vendor_code=code)
        raise self.refused(message, status=status, vendor_code=code)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _error_of(body: Any, fallback: str) -> tuple[str | None, str]:
    """The vendor's error code and message from a token endpoint's error body."""
    if not isinstance(body, Mapping):
        return None, fallback
    code = next((body[k] for k in ("error", "errcode", "code") if body.get(k) is not None), None)
    message = next((body[k] for k in ("error_description", "errmsg", "message", "msg")
                    if body.get(k)), fallback)
    return (str(code) if code is not None else None), str(message)
