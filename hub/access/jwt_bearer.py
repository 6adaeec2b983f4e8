"""OAuth2 bearer tokens: JWTs checked with authlib against a shared key or the issuer's JWKS.

Only compact JWS tokens are accepted (never JWE, never `alg: none`), and the algorithm is
tied to where the key comes from: HS256 with `jwt_secret`, RS/PS/ES with the JWKS — so a token
cannot pick its own kind of key. The JWKS is cached and fetched again when a token names a
`kid` the cached set lacks (at most every `refetch_seconds`, so junk kids cannot make the hub
hammer the issuer). Tokens that passed are cached (by their sha256) until the earlier of
`cache_seconds` and their expiry, so a busy caller's token is not re-verified per request.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
import warnings
from typing import Any

import httpx

from hub.access.principal import ROLES, Principal
from hub.core.b64url import b64url_decode
from hub.core.settings import Settings
from hub.errors import AuthenticationError, PermissionDeniedError

with warnings.catch_warnings():
    # authlib.jose warns at import that joserfc is its successor; it stays supported in 1.x.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken, KeySet
    from authlib.jose.errors import (
        BadSignatureError,
        ExpiredTokenError,
        InvalidClaimError,
        InvalidTokenError,
        JoseError,
        MissingClaimError,
    )

__all__ = ["JwtVerifier", "bounded_subject"]

log = logging.getLogger(__name__)

HMAC_ALGS = ("HS256",)
MAX_SUBJECT = 120  # characters of `sub` kept; "api:jwt:" + it fits every actor column
JWKS_ALGS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")


def _header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthenticationError("malformed bearer token")
    try:
        raw = b64url_decode(parts[0])
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise AuthenticationError("malformed bearer token") from None
    if not isinstance(header, dict):
        raise AuthenticationError("malformed bearer token")
    return header


def _claim(exc: JoseError) -> str:
    match = re.search(r"[\"'](\w+)[\"']", exc.description or "")
    return match.group(1) if match else "a required"


def _words(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def bounded_subject(sub: str) -> str:
    """`sub` as the hub names the caller: whole when short and printable, else its first
    characters and a digest of all of it, so it fits the store's actor and idempotency
    columns and two long subjects sharing a prefix stay two callers."""
    if len(sub) <= MAX_SUBJECT and sub.isprintable():
        return sub
    shown = "".join(char for char in sub if char.isprintable())[:MAX_SUBJECT - 17]
    return f"{shown}~{hashlib.sha256(sub.encode()).hexdigest()[:16]}"


class JwtVerifier:
    """Turns a bearer JWT into a Principal, or raises AuthenticationError saying why."""

    MAX_CACHED = 10_000

    def __init__(self, settings: Settings, *, refetch_seconds: float = 10.0,
                 jwks_ttl_seconds: float = 3600.0, cache_seconds: float = 30.0) -> None:
        self._secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self._jwks_url = settings.jwt_jwks_url
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds
        self._roles_claim = settings.jwt_roles_claim
        self.refetch_seconds = refetch_seconds
        self.jwks_ttl_seconds = jwks_ttl_seconds
        self.cache_seconds = cache_seconds
        self._keys: KeySet | None = None
        self._fetched = float("-inf")
        self._fetch_lock = asyncio.Lock()
        self._cache: dict[str, tuple[Principal, float]] = {}

    @property
    def enabled(self) -> bool:
        return bool(self._secret or self._jwks_url)

    async def verify(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).hexdigest()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        if not self.enabled:
            raise AuthenticationError("bearer tokens are not accepted by this hub")
        header = _header(token)
        alg = header.get("alg")
        if self._secret and alg in HMAC_ALGS:
            key: Any = self._secret.encode()
        elif self._jwks_url and alg in JWKS_ALGS:
            key = await self._signing_key(header.get("kid"))
        else:
            raise AuthenticationError("unsupported token algorithm")
        claims = self._decode(token, key, str(alg))
        principal = self._principal(claims)
        exp = float(claims["exp"])
        lifetime = min(self.cache_seconds, exp - time.time())
        if lifetime > 0:
            if len(self._cache) >= self.MAX_CACHED:
                self._cache.clear()
            self._cache[digest] = (principal, time.monotonic() + lifetime)
        return principal

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        options: dict[str, Any] = {"exp": {"essential": True}, "sub": {"essential": True}}
        if self._issuer:
            options["iss"] = {"essential": True, "value": self._issuer}
        if self._audience:
            options["aud"] = {"essential": True, "value": self._audience}
        try:
            claims = JsonWebToken([alg]).decode(token, key, claims_options=options)
            claims.validate(leeway=self._leeway)
        except BadSignatureError:
            raise AuthenticationError("token signature does not verify") from None
        except ExpiredTokenError:
            raise AuthenticationError("token expired") from None
        except MissingClaimError as exc:
            raise AuthenticationError(f"token lacks the {_claim(exc)} claim") from None
        except InvalidClaimError as exc:
            raise AuthenticationError(f"token has the wrong {_claim(exc)} claim") from None
        except InvalidTokenError:
            raise AuthenticationError("token not yet valid") from None
        except (JoseError, ValueError, TypeError):
            raise AuthenticationError("invalid bearer token") from None
        return dict(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        roles = frozenset(r for r in _words(claims.get(self._roles_claim)) if r in ROLES)
        subject = f"jwt:{bounded_subject(str(claims['sub']))}"
        if not roles:
            error = PermissionDeniedError(f"{subject} holds no hub role "
                                          f"({', '.join(ROLES)}) in claim "
                                          f"{self._roles_claim!r}")
            error.subject = subject  # type: ignore[attr-defined]
            raise error
        scopes = frozenset(_words(claims.get("scope")) + _words(claims.get("scp")))
        return Principal(subject=subject, roles=roles, scopes=scopes, via="jwt")

    async def _signing_key(self, kid: Any) -> Any:
        keys = self._keys
        stale = time.monotonic() - self._fetched > self.jwks_ttl_seconds
        if keys is None or stale or not self._has(keys, kid):
            async with self._fetch_lock:
                keys = self._keys
                stale = time.monotonic() - self._fetched > self.jwks_ttl_seconds
                if keys is None or stale or (
                        not self._has(keys, kid)
                        and time.monotonic() - self._fetched >= self.refetch_seconds):
                    keys = self._keys = await self._fetch()
                    self._fetched = time.monotonic()
        if keys is None or not self._has(keys, kid):
            raise AuthenticationError("token signed with an unknown key")
        return keys.find_by_kid(kid)

    @staticmethod
    def _has(keys: KeySet, kid: Any) -> bool:
        try:
            keys.find_by_kid(kid)
        except ValueError:
            return False
        return True

    async def _fetch(self) -> KeySet | None:
        assert self._jwks_url is not None
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(self._jwks_url)
                response.raise_for_status()
                return JsonWebKey.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            log.warning("JWKS fetch from %s failed: %s", self._jwks_url, type(exc).__name__)
            return self._keys
