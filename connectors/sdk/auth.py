"""Authenticating requests: static credentials, vendor tokens with their cache, OAuth 2."""

from ._auth import ApiKeyAuth, BasicAuth, BearerAuth, TokenAuth
from ._oauth import ClientAuthMethod, OAuth2ClientCredentials, OAuth2Provider, OAuth2RefreshToken
from ._tokens import (
    CachedToken,
    MemoryTokenCache,
    TokenCache,
    TokenLease,
    TokenProvider,
    token_cache_key,
)

__all__ = [
    "ApiKeyAuth",
    "BasicAuth",
    "BearerAuth",
    "CachedToken",
    "ClientAuthMethod",
    "MemoryTokenCache",
    "OAuth2ClientCredentials",
    "OAuth2Provider",
    "OAuth2RefreshToken",
    "TokenAuth",
    "TokenCache",
    "TokenLease",
    "TokenProvider",
    "token_cache_key",
]
