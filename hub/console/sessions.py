"""The console's session cookie and its CSRF tokens: stateless, signed, expiring.

A session is a signed cookie (HMAC-SHA256 under a key derived from the hub's audit key, so
nothing new to keep secret and no table): its own random id, when it ends, and, once signed
in, the API key's prefix and a fingerprint of the key's stored hash. The key itself is never
in it. Every request re-checks the key by its prefix (auth.py), so a revoked or expired key
ends its sessions at once; the fingerprint ties the session to that very key.

A CSRF token is an HMAC of the session's id: bound to the session, new with every sign-in,
checked on every POST. A visitor who is not signed in gets an anonymous session too, so the
sign-in form carries a token as well (login CSRF).
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from hub.core.b64url import b64url_decode, b64url_encode

__all__ = ["COOKIE", "SESSION_SECONDS", "Session", "SessionSigner", "derive_secret"]

COOKIE = "hub_console"
SESSION_SECONDS = 8 * 3600  # a working day; signing in again starts a new one


@dataclass(frozen=True, slots=True)
class Session:
    """What the cookie carries: signed in with an API key (`key_prefix`), or through the
    OIDC issuer (`subject`, `roles`, `scopes`: the token's, the session ending no later
    than the token); neither: not signed in."""

    sid: str
    expires: int
    key_prefix: str | None = None
    key_fingerprint: str | None = None
    subject: str | None = None
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()

    @property
    def signed_in(self) -> bool:
        return self.key_prefix is not None or self.subject is not None


def _signature_ok(signature: str, expected: bytes) -> bool:
    """The signature as this signer writes it, character for character: decoding first
    would accept other spellings of the same bytes (a Base64 text's last character carries
    bits the decoder drops)."""
    return hmac.compare_digest(signature.encode("ascii", "replace"),
                               b64url_encode(expected).encode())


class SessionSigner:
    """Makes and reads session cookies and CSRF tokens under one secret."""

    def __init__(self, secret: bytes, *, lifetime: int = SESSION_SECONDS) -> None:
        self._secret = secret
        self.lifetime = lifetime

    def _mac(self, purpose: str, message: bytes) -> bytes:
        return hmac.digest(self._secret, purpose.encode() + b"|" + message, "sha256")

    def new(self, *, key_prefix: str | None = None, key_hash: str | None = None,
            now: float | None = None) -> Session:
        """A fresh session (a new id: signing in never keeps the anonymous one's)."""
        fingerprint = self.fingerprint(key_hash) if key_hash is not None else None
        return Session(sid=secrets.token_urlsafe(18),
                       expires=int((now or time.time()) + self.lifetime),
                       key_prefix=key_prefix, key_fingerprint=fingerprint)

    def for_token(self, *, subject: str, roles: Iterable[str], scopes: Iterable[str],
                  token_expires: float | None, now: float | None = None) -> Session:
        """A session for a person the OIDC issuer signed in: it ends with their token."""
        ends = (now or time.time()) + self.lifetime
        if token_expires is not None:
            ends = min(ends, token_expires)
        return Session(sid=secrets.token_urlsafe(18), expires=int(ends), subject=subject,
                       roles=tuple(sorted(roles)), scopes=tuple(sorted(scopes)))

    def fingerprint(self, key_hash: str) -> str:
        return b64url_encode(self._mac("key", key_hash.encode()))[:22]

    def dumps(self, session: Session) -> str:
        payload = {"sid": session.sid, "exp": session.expires}
        if session.key_prefix is not None:
            payload |= {"key": session.key_prefix, "fp": session.key_fingerprint}
        if session.subject is not None:
            payload |= {"sub": session.subject, "roles": list(session.roles),
                        "scopes": list(session.scopes)}
        body = b64url_encode(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{b64url_encode(self._mac('session', body.encode()))}"

    def loads(self, cookie: str | None, *, now: float | None = None) -> Session | None:
        """The session in `cookie`; None when it is missing, forged, malformed or expired."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 3072:
            return None
        body, signature = cookie.split(".")
        try:
            if not _signature_ok(signature, self._mac("session", body.encode())):
                return None
            payload = json.loads(b64url_decode(body))
            session = Session(sid=str(payload["sid"]), expires=int(payload["exp"]),
                              key_prefix=payload.get("key"), key_fingerprint=payload.get("fp"),
                              subject=payload.get("sub"),
                              roles=tuple(str(r) for r in payload.get("roles") or ()),
                              scopes=tuple(str(s) for s in payload.get("scopes") or ()))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires <= (now or time.time()):
            return None
        return session

    def seal(self, purpose: str, value: dict[str, object], *, seconds: int) -> str:
        """`value` signed for `purpose`, readable by `unseal` for `seconds`."""
        body = b64url_encode(json.dumps({**value, "_exp": int(time.time()) + seconds},
                               separators=(",", ":")).encode())
        return f"{body}.{b64url_encode(self._mac(purpose, body.encode()))}"

    def unseal(self, purpose: str, text: str | None) -> dict[str, object] | None:
        if not text or text.count(".") != 1 or len(text) > 3072:
            return None
        body, signature = text.split(".")
        try:
            if not _signature_ok(signature, self._mac(purpose, body.encode())):
                return None
            value = json.loads(b64url_decode(body))
        except (ValueError, TypeError):
            return None
        if not isinstance(value, dict) or int(value.pop("_exp", 0)) <= time.time():
            return None
        return value

    def csrf_token(self, session: Session) -> str:
        return b64url_encode(self._mac("csrf", session.sid.encode()))

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(
            self.csrf_token(session).encode(), str(token).encode())


def derive_secret(audit_secret: bytes) -> bytes:
    """The console's signing key: derived one way from the audit key (domain-separated), so
    knowing it tells nothing of the audit key; rotating the audit key signs everyone out."""
    return hmac.digest(audit_secret, b"hub-console-session-v1", "sha256")
