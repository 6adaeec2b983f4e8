"""Who uses the console: sign-in with an API key, the key re-checked on every request, the
same roles and permissions as the API (hub.access.principal), audited as the person.

Blocking I/O throughout (one indexed read a request): the pages call it from a worker thread.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from hub.access.apikeys import ApiKeyVerifier, hash_key, looks_like_key, verify_key_prefix
from hub.access.principal import Principal, principal_of_key
from hub.audit import AuditEntry
from hub.audit.keys import AuditKeys
from hub.audit.throttle import AuditThrottle
from hub.errors import AuthenticationError
from hub.runtime import Hub

from .oidc import OidcClient
from .sessions import Session, SessionSigner, derive_secret

__all__ = ["ConsoleAuth", "User", "actor_of", "session_actor"]


def actor_of(principal: Principal) -> str:
    """How the audit log names a console user's actions: the key's principal, in the
    console (`console:apikey:<prefix>`)."""
    return f"console:{principal.subject}"


@dataclass(frozen=True, slots=True)
class User:
    """A signed-in person: the principal their key speaks for, and their session."""

    principal: Principal
    session: Session

    @property
    def actor(self) -> str:
        return actor_of(self.principal)

    def may(self, permission: str) -> bool:
        return self.principal.may(permission)


class ConsoleAuth:
    """Signs people in and re-checks them; one per console app."""

    def __init__(self, hub: Hub, *, signer: SessionSigner | None = None) -> None:
        self.hub = hub
        self._signer = signer
        # No cache: a key checked at sign-in is checked against the store, as it is on
        # every request after (a revocation made by the CLI counts at once).
        self._keys = ApiKeyVerifier(hub.sessions, cache_seconds=0)
        # Refusals of one kind from one client within the window: one row, then a count
        # (as the API's denials), so a flood of bad keys cannot queue writers on the chain.
        self.denials = AuditThrottle(window_seconds=hub.settings.denial_window_seconds)
        self.oidc = OidcClient(hub.settings)

    @property
    def signer(self) -> SessionSigner:
        """Made on first use: the audit key it derives from is read (or made) only when
        someone opens the console, not whenever the app is built (`hub openapi`)."""
        if self._signer is None:
            self._signer = SessionSigner(derive_secret(
                AuditKeys.from_settings(self.hub.settings).current.secret))
        return self._signer

    def sign_in(self, key: str, *, client: str) -> tuple[Principal, Session]:
        """A new session for the key's principal; AuthenticationError (audited) when the
        key is malformed, unknown, revoked or expired."""
        key = key.strip()
        try:
            if not looks_like_key(key):
                raise AuthenticationError("malformed API key")
            verified = self._keys.verify(key)
        except AuthenticationError as error:
            self.refuse("console.signin", actor=_subject_actor(error), outcome="401",
                        target="POST /console/signin", reason=str(error), client=client)
            raise
        principal = principal_of_key(verified)
        session = self.signer.new(key_prefix=verified.prefix, key_hash=hash_key(key))
        self.record("console.signin", actor=actor_of(principal), outcome="ok",
                    detail={"client": client, "role": verified.role})
        return principal, session

    def sign_in_token(self, principal: Principal, *, token_expires: float | None,
                      client: str) -> Session:
        """A new session for a person the OIDC issuer signed in (oidc.py checked their
        token as the API would); audited as them."""
        session = self.signer.for_token(subject=principal.subject, roles=principal.roles,
                                        scopes=principal.scopes, token_expires=token_expires)
        self.record("console.signin", actor=actor_of(principal), outcome="ok",
                    detail={"client": client, "via": "oidc",
                            "roles": sorted(principal.roles)})
        return session

    def recheck(self, session: Session) -> Principal:
        """The principal of a signed-in session: an API key's checked against the store now;
        a token's as the issuer gave it (the session ends no later than the token)."""
        if session.subject is not None:
            return Principal(subject=session.subject, roles=frozenset(session.roles),
                             scopes=frozenset(session.scopes), via="jwt")
        if session.key_prefix is None or session.key_fingerprint is None:
            raise AuthenticationError("not signed in")
        verified, key_hash = verify_key_prefix(self.hub.sessions, session.key_prefix)
        if not hmac.compare_digest(self.signer.fingerprint(key_hash), session.key_fingerprint):
            raise AuthenticationError("the session's key was replaced")
        return principal_of_key(verified)

    def refuse(self, action: str, *, actor: str, outcome: str, target: str, reason: str,
               client: str) -> None:
        """Audit a refusal (a bad key, a page or form not allowed, a missing CSRF token);
        repeats of one kind from one client within the window are counted in one row."""
        entry = AuditEntry(actor=actor, action=action, target=target, outcome=outcome,
                           detail={"reason": reason, "client": client})
        group = _path_group(target)
        entries = self.denials.admit((action, actor, outcome, reason, client, group), entry,
                                     group=group, client=client)
        if entries:
            self.hub.audit.record(entries)

    def flush_denials(self) -> None:
        """Write the counts of every window still open (at shutdown)."""
        entries = self.denials.flush(everything=True)
        if entries:
            self.hub.audit.record(entries)

    def record(self, action: str, *, actor: str, outcome: str = "ok", target: str = "console",
               detail: dict[str, object] | None = None) -> None:
        self.hub.audit.record([AuditEntry(actor=actor, action=action, target=target,
                                          outcome=outcome, detail=detail or {})])


def session_actor(session: Session) -> str:
    """Who a session speaks for in the audit log, before its principal is checked."""
    if session.subject is not None:
        return f"console:{session.subject}"
    if session.key_prefix is not None:
        return f"console:apikey:{session.key_prefix}"
    return "anonymous"


def _path_group(target: str) -> str:
    """`GET /console/tickets/42` → `GET /console/tickets/*`: what a window of repeats covers."""
    method, _, path = target.partition(" ")
    parts = path.strip("/").split("/")
    return f"{method} /{'/'.join(parts[:2])}" + ("/*" if len(parts) > 2 else "")


def _subject_actor(error: AuthenticationError) -> str:
    subject = getattr(error, "subject", None)
    return f"console:{subject}" if subject else "anonymous"
