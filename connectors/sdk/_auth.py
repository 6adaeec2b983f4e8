"""httpx.Auth flows: API key, bearer, basic, and vendor tokens. Reprs never show a secret."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator
from contextlib import asynccontextmanager

import httpx
from pydantic import SecretStr
from typing_extensions import override

from ._errors import AuthError, ConnectorError, TransientError
from ._redact import install_log_redaction, register_credential
from ._tokens import CachedToken, TokenCache, TokenLease, TokenProvider

__all__ = ["ApiKeyAuth", "BasicAuth", "BearerAuth", "TokenAuth"]

log = logging.getLogger("connectors.auth")


class ApiKeyAuth(httpx.Auth):
    """Sends an API key in a header (default `X-API-Key`) or, with `query`, a query parameter.

    Example:
        ``ApiKeyAuth(config.api_key)``, ``ApiKeyAuth(key, header="X-Token")``,
        ``ApiKeyAuth(key, query="access_token")``.
    """

    def __init__(
        self, key: SecretStr, *, header: str | None = None, query: str | None = None
    ) -> None:
        if header is not None and query is not None:
            raise ValueError("ApiKeyAuth: give either header or query, not both")
        self._key = key
        self._query = query
        self._header = header or "X-API-Key"
        register_credential(key.get_secret_value(), slot=f"api-key:{self._header}:{query}")
        if query is not None:
            install_log_redaction()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        value = self._key.get_secret_value()
        if self._query is not None:
            request.url = request.url.copy_set_param(self._query, value)
        else:
            request.headers[self._header] = value
        yield request

    def __repr__(self) -> str:
        where = f"query={self._query!r}" if self._query is not None else f"header={self._header!r}"
        return f"ApiKeyAuth({where}, key=***)"


class BearerAuth(httpx.Auth):
    """Sends `Authorization: Bearer <token>`."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token
        register_credential(token.get_secret_value(), slot="bearer")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


class BasicAuth(httpx.Auth):
    """Sends HTTP Basic credentials (RFC 7617, UTF-8)."""

    def __init__(self, username: str, password: SecretStr) -> None:
        self._username = username
        self._password = password
        pair = f"{username}:{password.get_secret_value()}"
        # The header value is a credential of its own: a vendor echoing it must not show it.
        self._credentials = base64.b64encode(pair.encode()).decode("ascii")
        register_credential(password.get_secret_value(), pair, self._credentials,
                            slot=f"basic:{username}")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Basic {self._credentials}"
        yield request

    def __repr__(self) -> str:
        return f"BasicAuth(username={self._username!r}, password=***)"


# One lock per (event loop, cache, key): every TokenAuth of a process on the same cache and key
# waits on the same lock, so a token is fetched once however many connectors share it.
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, str], asyncio.Lock]]
_LOCKS = weakref.WeakKeyDictionary()


def _local_lock(cache: TokenCache, key: str) -> asyncio.Lock:
    locks = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault((id(cache), key), asyncio.Lock())


class TokenAuth(httpx.Auth):
    """Vendor tokens on every request: cached, renewed before expiry, refreshed once if refused.

    * The token comes from `cache` under `key`; it is fetched when missing or within the
      provider's `expiry_margin` of expiry.
    * Single-flight: concurrent requests needing a new token wait for one fetch (a lock per
      key in the process; across processes, a `TokenLease` when the cache offers one, and
      the shared cache either way).
    * When the provider's `is_token_invalid` says the vendor refused the token, that exact
      token is replaced (never a newer one another request already fetched), and the request
      is sent again once. A second refusal raises AuthError: there is no loop.
    * Token fetches go through their own client (never through this flow): the connector's
      `client` if given, else a short-lived one per fetch.

    Args:
        provider: the vendor's TokenProvider.
        cache: where tokens live (MemoryTokenCache, or the hub's store-backed cache).
        key: the cache key; one per app and credential: ``token_cache_key(...)`` (a digest
            of the secret in it, so a connection with another secret never shares it).
        client: the httpx client for token requests (not the one this auth is attached to).
        timeout: timeout of the short-lived token client.
        lease_ttl: seconds a cross-process lease is held at most (covers one token fetch).
        poll_interval: how often a process waiting on another's lease re-reads the cache.
        connector: connector name, added to the context of errors raised here.
        connection: connection name, added to the context of errors raised here.
        clock: Unix-seconds clock (tests inject one).
        sleep: async sleep (tests inject one).
    """

    requires_response_body = True

    def __init__(
        self,
        provider: TokenProvider,
        cache: TokenCache,
        key: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        lease_ttl: float = 30.0,
        poll_interval: float = 0.05,
        connector: str | None = None,
        connection: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.provider = provider
        self.cache = cache
        self.key = key
        self._client = client
        self._timeout = timeout
        self._lease_ttl = lease_ttl
        self._poll_interval = poll_interval
        self._context = {"connector": connector, "connection": connection}
        self._clock = clock
        self._sleep = sleep
        self._memo: CachedToken | None = None
        install_log_redaction()  # wherever `apply` puts the token, URLs in logs stay clean

    @override
    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("TokenAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        self.provider.apply(request, token)
        response = yield request
        await response.aread()  # so that vendors answering 200 + error code can be checked
        if not self.provider.is_token_invalid(response):
            return
        log.debug("token %s refused (HTTP %d); renewing it and sending again once",
                  self.key, response.status_code)
        token = await self._renew(stale=token)
        self.provider.apply(request, token)
        response = yield request
        await response.aread()
        if self.provider.is_token_invalid(response):
            raise self._with_context(AuthError(
                "the vendor refused a freshly issued token", operation="token",
                status=response.status_code,
            ))

    async def token(self) -> CachedToken:
        """A token valid for longer than the margin, fetched only if the cache has none."""
        memo = self._memo
        if memo is not None and self._usable(memo):
            return memo
        return await self._renew(stale=None)

    def _remember(self, token: CachedToken) -> CachedToken:
        """Keep `token` as this auth's current one; every Redactor masks it from now on."""
        values = [token.access_token.get_secret_value()]
        if token.refresh_token is not None:
            values.append(token.refresh_token.get_secret_value())
        register_credential(*values, slot=f"token:{self.key}")
        self._memo = token
        return token

    def _usable(self, token: CachedToken) -> bool:
        if token.expires_at is None:
            return True
        return self._clock() < token.expires_at - self.provider.expiry_margin(token)

    def _renewed(self, token: CachedToken | None, stale: CachedToken | None) -> bool:
        """True if `token` can be used instead of `stale` (the token the vendor refused)."""
        if token is None or not self._usable(token):
            return False
        if stale is None:
            return True
        # The same value with a new expiry is a renewal too (DingTalk re-issues the same token).
        return (token.access_token != stale.access_token
                or token.expires_at != stale.expires_at)

    async def _renew(self, *, stale: CachedToken | None) -> CachedToken:
        async with _local_lock(self.cache, self.key):
            # Re-check after waiting: whoever held the lock has probably renewed it already.
            if self._renewed(self._memo, stale):
                assert self._memo is not None
                return self._memo
            current = await self.cache.get(self.key)
            if self._renewed(current, stale):
                assert current is not None
                return self._remember(current)
            if isinstance(self.cache, TokenLease):
                return await self._renew_leased(self.cache, stale)
            return await self._replace(current, stale)

    async def _renew_leased(self, lease: TokenLease, stale: CachedToken | None) -> CachedToken:
        owner = uuid.uuid4().hex
        while True:
            if await lease.acquire_lease(self.key, owner=owner, ttl=self._lease_ttl):
                try:
                    current = await self.cache.get(self.key)
                    if self._renewed(current, stale):
                        assert current is not None
                        return self._remember(current)
                    return await self._replace(current, stale)
                finally:
                    await lease.release_lease(self.key, owner=owner)
            # Another process is fetching: wait for its token to land in the shared cache.
            await self._sleep(self._poll_interval)
            current = await self.cache.get(self.key)
            if self._renewed(current, stale):
                assert current is not None
                return self._remember(current)

    async def _replace(self, current: CachedToken | None, stale: CachedToken | None) -> CachedToken:
        """Fetch (or refresh) a token and store it. Called holding the key's lock/lease."""
        if (stale is not None and current is not None and current.refresh_token is None
                and current.access_token == stale.access_token):
            # Compare-and-delete: drop the refused token unless someone replaced it already.
            # A token with a refresh token stays: its refresh token buys the next one.
            await self.cache.delete(self.key, access_token=stale.access_token.get_secret_value())
        base = current if current is not None else stale
        try:
            async with self._token_client() as client:
                if base is not None and base.refresh_token is not None:
                    token = await self.provider.refresh(client, base)
                else:
                    token = await self.provider.fetch(client)
        except ConnectorError as exc:
            raise self._with_context(exc) from None
        except httpx.TransportError as exc:  # a provider that used the client directly
            raise self._with_context(TransientError(
                f"token endpoint unreachable ({type(exc).__name__})", operation="token",
            )) from None
        self._remember(token)  # masked before anything can echo it
        await self.cache.put(self.key, token)
        log.debug("token %s obtained; expires in %s s", self.key,
                  "?" if token.expires_at is None else round(token.expires_at - self._clock()))
        return token

    @asynccontextmanager
    async def _token_client(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._client is not None:
            yield self._client
            return
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            yield client

    def _with_context(self, error: ConnectorError) -> ConnectorError:
        error.connector = error.connector or self._context["connector"]
        error.connection = error.connection or self._context["connection"]
        return error

    def __repr__(self) -> str:
        return f"TokenAuth(provider={self.provider!r}, key={self.key!r})"
