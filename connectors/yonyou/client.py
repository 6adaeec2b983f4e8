"""YonBIP's open API as the connector speaks it: data-centre lookup, token, envelope.

The flow of protocol notes §1: ask the lookup host for the tenant's gateway and auth URLs
(once per connector), fetch a token signed per §2 (cached; renewed before expiry and once on
310036), then call ``{gatewayUrl}/yonbip/<path>?access_token=<token>``. The token travels in
the query only, so every URL shown anywhere is redacted by parameter name.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr
from typing_extensions import override

from connectors.sdk import ConfigError, HttpClient, TransientError, json_body
from connectors.sdk.auth import CachedToken, TokenProvider
from connectors.sdk.redaction import register_credential

from ._codes import batch_failure, is_token_invalid
from ._signing import token_signature

__all__ = ["LOOKUP_PATH", "TOKEN_PATH", "Gateway", "GatewayResolver", "YonyouClient",
           "YonyouTokens", "jsonable"]

LOOKUP_PATH = "/open-auth/dataCenter/getGatewayAddress"
TOKEN_PATH = "/open-auth/selfAppAuth/base/v1/getAccessToken"
_OK = "00000"


@dataclass(frozen=True, slots=True)
class Gateway:
    """The tenant's data centre: both URLs carry their path prefix already."""

    gateway_url: str
    token_url: str


class GatewayResolver:
    """Finds (once) where the tenant lives; explicit URLs skip the lookup."""

    def __init__(self, lookup_url: str, tenant_id: str, *,
                 explicit: Gateway | None = None) -> None:
        self.lookup_url = lookup_url.rstrip("/")
        self.tenant_id = tenant_id
        self._gateway = explicit
        self._lock = asyncio.Lock()

    @property
    def known(self) -> Gateway | None:
        return self._gateway

    async def resolve(self, client: httpx.AsyncClient) -> Gateway:
        if self._gateway is not None:
            return self._gateway
        async with self._lock:
            if self._gateway is None:
                self._gateway = await self._lookup(client)
        return self._gateway

    async def _lookup(self, client: httpx.AsyncClient) -> Gateway:
        try:
            response = await client.get(self.lookup_url + LOOKUP_PATH,
                                        params={"tenantId": self.tenant_id})
        except httpx.TransportError as exc:
            raise TransientError(f"data-centre lookup unreachable ({type(exc).__name__})",
                                 operation="gateway.lookup") from None
        body = json_body(response)
        if response.status_code >= 500:
            raise TransientError("data-centre lookup failed", operation="gateway.lookup",
                                 status=response.status_code)
        data = body.get("data") if isinstance(body, Mapping) else None
        if (not isinstance(body, Mapping) or str(body.get("code")) != _OK
                or not isinstance(data, Mapping) or not data.get("gatewayUrl")):
            message = body.get("message") if isinstance(body, Mapping) else None
            code = body.get("code") if isinstance(body, Mapping) else None
            raise ConfigError(f"no data centre for tenant {self.tenant_id!r}: {message}",
                              operation="gateway.lookup", status=response.status_code,
                              vendor_code=None if code is None else str(code))
        return Gateway(str(data["gatewayUrl"]).rstrip("/"), str(data["tokenUrl"]).rstrip("/"))


class YonyouTokens(TokenProvider):
    """``getAccessToken`` of a self-built app; the token goes in the `access_token` query."""

    query = "access_token"

    def __init__(self, resolver: GatewayResolver, app_key: str, app_secret: SecretStr, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.resolver = resolver
        self.app_key = app_key
        self.app_secret = app_secret
        self.clock = clock

    async def fetch(self, client: httpx.AsyncClient) -> CachedToken:
        gateway = await self.resolver.resolve(client)
        now = self.clock()
        timestamp = str(int(now * 1000))
        signature = token_signature(self.app_key, timestamp, self.app_secret.get_secret_value())
        register_credential(signature, slot=f"yonyou:token-signature:{self.app_key}")
        # The raw Base64 goes into params: httpx encodes it exactly once (notes §2).
        response = await self.request_token(client, "GET", gateway.token_url + TOKEN_PATH, params={
            "appKey": self.app_key, "timestamp": timestamp, "signature": signature})
        body = json_body(response)
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(body, Mapping):
            raise TransientError("getAccessToken answered a non-JSON body", operation="token",
                                 status=response.status_code)
        if str(body.get("code")) != _OK or not isinstance(data, Mapping) \
                or not data.get("access_token"):
            # Any non-success code is an auth failure (bad signature codes are UNVERIFIED).
            raise self.refused(body.get("message"), status=response.status_code,
                               vendor_code=body.get("code"))
        return CachedToken.issue(str(data["access_token"]),
                                 expires_in=float(data.get("expire") or 7200), now=now)

    @override
    def is_token_invalid(self, response: httpx.Response) -> bool:
        return is_token_invalid(response)

    def __repr__(self) -> str:
        return f"YonyouTokens(app_key={self.app_key!r}, app_secret=***)"


def jsonable(value: Any) -> Any:
    """A mapped document as JSON: Decimal as its exact text, dates as the gateway's format."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


class YonyouClient:
    """Business calls over the connector's HttpClient (token added by its TokenAuth)."""

    def __init__(self, http: HttpClient, redact: Callable[[str], str] = str) -> None:
        self.http = http
        self.redact = redact

    async def read(self, path: str, body: Mapping[str, Any], *, operation: str) -> Any:
        """A list read sent by POST: safe to resend, so HttpClient retries it."""
        response = await self.http.send("POST", path, operation=operation,
                                        json=jsonable(body), retry_safe=True)
        return response.json().get("data")

    async def detail(self, path: str, bill_id: str, *, operation: str) -> Any:
        """One bill by its id: ``GET .../detail?id=`` (a read, so HttpClient retries it)."""
        response = await self.http.send("GET", path, operation=operation,
                                        params={"id": bill_id})
        return response.json().get("data")

    async def write(self, path: str, body: Mapping[str, Any], *, operation: str,
                    record_key: str | None = None) -> Any:
        """A write: never resent blindly (a lost answer is OutcomeUnknownError); a batch
        answer with failures is a RejectedError listing each item's message."""
        response = await self.http.send("POST", path, operation=operation, json=jsonable(body))
        data = response.json().get("data")
        failure = batch_failure(data, redact=self.redact)
        if failure is not None:
            failure.connector, failure.connection = self.http.connector, self.http.connection
            failure.operation, failure.record_key = operation, record_key
            raise failure
        return data
