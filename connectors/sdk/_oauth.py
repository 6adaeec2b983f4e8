"""OAuth 2.0 token providers (RFC 6749): client credentials and refresh tokens, via authlib.

Authlib builds the token requests (grant parameters, client authentication by
``client_secret_basic``, ``client_secret_post`` or ``none``); they are sent through the
httpx client `TokenAuth` hands over. The token, with a rotated refresh token, lands in the
TokenCache, so the refresh token that was just spent is never sent again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_token_request
from pydantic import SecretStr

from ._errors import AuthError
from ._tokens import CachedToken, TokenProvider, json_body

__all__ = ["ClientAuthMethod", "OAuth2ClientCredentials", "OAuth2Provider", "OAuth2RefreshToken"]

ClientAuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]
_FORM = "application/x-www-form-urlencoded"


class OAuth2Provider(TokenProvider):
    """Common ground of the OAuth2 grants: client authentication and token responses.

    Args:
        token_url: the absolute URL of the authorisation server's token endpoint.
        client_id: the client's id.
        client_secret: the client's secret (None with ``auth_method="none"``).
        scope: the scope to ask for, as a space-separated string or a list.
        auth_method: how the client authenticates to the token endpoint.
        extra_params: more form fields some servers want (e.g. ``audience``, ``resource``).
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr | None = None,
        *,
        scope: str | Sequence[str] | None = None,
        auth_method: ClientAuthMethod = "client_secret_basic",
        extra_params: Mapping[str, str] | None = None,
    ) -> None:
        if auth_method != "none" and client_secret is None:
            raise ValueError(f"OAuth2: auth_method {auth_method!r} needs a client_secret")
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.auth_method = auth_method
        self.extra_params = dict(extra_params or {})

    async def grant(
        self, client: httpx.AsyncClient, grant_type: str, **params: str
    ) -> CachedToken:
        """Ask the token endpoint for a token with `grant_type` and its parameters."""
        fields: dict[str, Any] = {**self.extra_params, **params}
        if self.scope:
            fields["scope"] = self.scope
        body = prepare_token_request(grant_type, **fields)
        secret = self.client_secret.get_secret_value() if self.client_secret else None
        url, headers, body = ClientAuth(self.client_id, secret, self.auth_method).prepare(
            "POST", self.token_url, {"Content-Type": _FORM, "Accept": "application/json"}, body
        )
        response = await self.request_token(client, "POST", url, content=body, headers=headers)
        payload = json_body(response)
        if not isinstance(payload, Mapping):
            raise self.refused("token endpoint answered without JSON", status=200)
        if payload.get("error"):
            raise self.refused(payload.get("error_description") or payload["error"],
                               vendor_code=payload["error"])
        access_token = payload.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise self.refused("token response has no access_token")
        refresh_token = payload.get("refresh_token")
        expires_in = payload.get("expires_in")
        return CachedToken.issue(
            access_token,
            expires_in=float(expires_in) if expires_in is not None else None,
            refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            extra={k: payload[k] for k in ("token_type", "scope") if k in payload},
        )

    async def refresh(self, client: httpx.AsyncClient, token: CachedToken) -> CachedToken:
        """The refresh-token grant. A response without a refresh token keeps the old one
        (RFC 6749 §6); one with a new refresh token rotates it."""
        if token.refresh_token is None:
            return await self.fetch(client)
        fresh = await self.grant(
            client, "refresh_token", refresh_token=token.refresh_token.get_secret_value()
        )
        if fresh.refresh_token is None:
            fresh = dataclasses.replace(fresh, refresh_token=token.refresh_token)
        return fresh

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(token_url={self.token_url!r}, "
                f"client_id={self.client_id!r}, auth_method={self.auth_method!r})")


class OAuth2ClientCredentials(OAuth2Provider):
    """The client-credentials grant (machine to machine).

    Example:
        ```python
        def auth(self) -> httpx.Auth:
            provider = OAuth2ClientCredentials(
                f"{self.config.base_url}/oauth/token", self.config.client_id,
                self.config.client_secret, scope="tickets:read",
            )
            return TokenAuth(provider, self.token_cache, key=token_cache_key(
                "acme", self.config.client_id, secret=self.config.client_secret))
        ```
    """

    async def fetch(self, client: httpx.AsyncClient) -> CachedToken:
        return await self.grant(client, "client_credentials")

    async def refresh(self, client: httpx.AsyncClient, token: CachedToken) -> CachedToken:
        """Refresh when the server issued a refresh token; if it refuses, start over with
        the client credentials (which are still good)."""
        try:
            return await super().refresh(client, token)
        except AuthError:
            if token.refresh_token is None:
                raise
            return await self.fetch(client)


class OAuth2RefreshToken(OAuth2Provider):
    """The refresh-token grant, seeded with a refresh token obtained once by a person
    (authorisation-code flow done elsewhere).

    The seed is spent only while the cache holds no token for the key. Every refresh stores
    the token the server returns; when the server rotates refresh tokens, the new one replaces
    the old in the cache, and the old one is never sent again.

    Args:
        refresh_token: the seed refresh token.
        (others as for OAuth2Provider)
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr | None = None,
        *,
        refresh_token: SecretStr,
        scope: str | Sequence[str] | None = None,
        auth_method: ClientAuthMethod = "client_secret_basic",
        extra_params: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(token_url, client_id, client_secret, scope=scope,
                         auth_method=auth_method, extra_params=extra_params)
        self.seed = refresh_token

    async def fetch(self, client: httpx.AsyncClient) -> CachedToken:
        return await self.refresh(client, CachedToken(SecretStr(""), refresh_token=self.seed))
