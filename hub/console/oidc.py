"""Single sign-on through the OpenID Connect issuer the API already trusts for JWTs
(`HUB_JWT_ISSUER`): the authorization code flow with PKCE, for the console's client
(`HUB_OIDC_CLIENT_ID`, `HUB_OIDC_CLIENT_SECRET`).

The issuer's endpoints come from its discovery document. The access token the issuer
returns is checked exactly as the API checks a bearer token (hub.access.jwt_bearer: issuer,
audience, signature by the JWKS or the shared key, the roles claim), so a person has in the
console the roles and scopes the API would give their token; the session ends when the
token does (at the latest 8 hours after sign-in).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from hub.access.jwt_bearer import JwtVerifier
from hub.access.principal import Principal
from hub.core.b64url import b64url_encode
from hub.core.settings import Settings
from hub.errors import AuthenticationError

__all__ = ["OidcClient", "OidcStart", "pkce_challenge"]

DISCOVERY = "/.well-known/openid-configuration"
CACHE_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class OidcStart:
    """Where to send the browser, and what to keep (signed) until it comes back."""

    url: str
    state: str
    verifier: str


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return b64url_encode(digest)


class OidcClient:
    """The console's client at the issuer; `enabled` when the settings name one."""

    def __init__(self, settings: Settings, *, timeout: float = 10.0) -> None:
        self._issuer = (settings.jwt_issuer or "").rstrip("/")
        self._client_id = settings.oidc_client_id
        self._secret = (settings.oidc_client_secret.get_secret_value()
                        if settings.oidc_client_secret else None)
        self._tokens = JwtVerifier(settings)
        self._timeout = timeout
        self._discovered: tuple[float, dict[str, Any]] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._issuer and self._client_id and self._secret
                    and self._tokens.enabled)

    async def _endpoints(self) -> dict[str, Any]:
        if self._discovered is not None and time.monotonic() - self._discovered[0] \
                < CACHE_SECONDS:
            return self._discovered[1]
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                answer = await client.get(self._issuer + DISCOVERY)
                answer.raise_for_status()
                document = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise AuthenticationError(f"the sign-in issuer did not answer its discovery "
                                      f"document: {type(exc).__name__}") from None
        if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") \
                != self._issuer:
            raise AuthenticationError("the sign-in issuer's discovery document names "
                                      "another issuer")
        self._discovered = (time.monotonic(), document)
        return document

    async def start(self, redirect_uri: str) -> OidcStart:
        endpoints = await self._endpoints()
        state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        query = urlencode({"response_type": "code", "client_id": self._client_id,
                           "redirect_uri": redirect_uri, "scope": "openid profile",
                           "state": state, "code_challenge": pkce_challenge(verifier),
                           "code_challenge_method": "S256"})
        return OidcStart(url=f"{endpoints['authorization_endpoint']}?{query}", state=state,
                         verifier=verifier)

    async def finish(self, *, code: str, verifier: str,
                     redirect_uri: str) -> tuple[Principal, float | None]:
        """The person the issuer signed in (their access token checked as the API checks a
        bearer token) and when their token expires."""
        endpoints = await self._endpoints()
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                answer = await client.post(endpoints["token_endpoint"], data={
                    "grant_type": "authorization_code", "code": code,
                    "redirect_uri": redirect_uri, "code_verifier": verifier,
                    "client_id": self._client_id, "client_secret": self._secret})
        except httpx.HTTPError as exc:
            raise AuthenticationError(f"the sign-in issuer did not answer: "
                                      f"{type(exc).__name__}") from None
        if answer.status_code != 200:
            raise AuthenticationError(f"the sign-in issuer refused the code "
                                      f"({answer.status_code})")
        try:
            tokens = answer.json()
            access = str(tokens["access_token"])
        except (ValueError, KeyError, TypeError):
            raise AuthenticationError("the sign-in issuer answered no access token") from None
        principal = await self._tokens.verify(access)
        expires_in = tokens.get("expires_in")
        ends = time.time() + float(expires_in) if isinstance(expires_in, int | float) else None
        return principal, ends
