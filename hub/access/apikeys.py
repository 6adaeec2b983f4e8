"""API keys for the REST API: made by the CLI, shown once, stored as a hash, revocable.

A key reads `hub_<prefix>_<secret>`: the 8-character prefix finds the row and names the key in
the audit log (`apikey/<prefix>`: with a colon the audit redactor would mask it as a secret
`name: value` pair); the secret is at least 32 random bytes. Only the sha256 of the whole key is
stored — a key is high-entropy, so a slow password hash would add latency and no safety.

`ApiKeyVerifier` checks keys on the API's hot path. Verified keys are cached in-process for
`cache_seconds` (30 s by default), so a revocation made elsewhere (the CLI) takes effect within
that window; expiry is checked on every request against the cached row. `last_used_at` is
written at most once a minute per key, never on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.audit import AuditEntry
from hub.core.time import as_utc, as_utc_or_none
from hub.errors import AuthenticationError, ConflictError, InvalidRequestError, NotFoundError
from hub.store.models import ApiKey

if TYPE_CHECKING:
    from hub.runtime import Hub

__all__ = [
    "KEY_PREFIX",
    "ApiKeyInfo",
    "ApiKeyVerifier",
    "CreatedKey",
    "VerifiedKey",
    "create_key",
    "hash_key",
    "list_keys",
    "looks_like_key",
    "parse_expiry",
    "revoke_key",
    "verify_key_prefix",
]

KEY_PREFIX = "hub_"
KEY_ROLES = ("agent", "integrator", "admin")
_PREFIX_ALPHABET = string.ascii_letters + string.digits
_KEY_RE = re.compile(r"^hub_([A-Za-z0-9_-]{8})_([A-Za-z0-9_-]{43,})$")
_DURATION_RE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SCOPE_RE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """A key as `hub apikeys list` shows it: everything but the secret."""

    id: int
    name: str
    prefix: str
    role: str
    scopes: tuple[str, ...]
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def subject(self) -> str:
        return f"apikey:{self.prefix}"

    @classmethod
    def of(cls, row: ApiKey) -> ApiKeyInfo:
        return cls(id=row.id, name=row.name, prefix=row.prefix, role=row.role,
                   scopes=tuple(row.scopes or ()), created_by=row.created_by,
                   created_at=as_utc(row.created_at), expires_at=as_utc_or_none(row.expires_at),
                   revoked_at=as_utc_or_none(row.revoked_at),
                   last_used_at=as_utc_or_none(row.last_used_at))


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: `key` is the only time the secret exists outside the caller's hands."""

    key: str
    info: ApiKeyInfo


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX)


def parse_expiry(text: str, *, now: datetime | None = None) -> datetime:
    """`90d`, `12h`, `30m`, `2w` from now, or an ISO date / date-time (UTC when naive)."""
    now = now or datetime.now(UTC)
    match = _DURATION_RE.match(text.strip().lower())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        if amount <= 0:
            raise InvalidRequestError(f"expiry {text!r}: must be in the future")
        return now + timedelta(**{_UNITS[unit]: amount})
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRequestError(
            f"expiry {text!r}: use a duration (90d, 12h, 30m, 2w) or a date (2027-01-01)"
        ) from None
    at = as_utc(at)
    if at <= now:
        raise InvalidRequestError(f"expiry {text!r}: must be in the future")
    return at


def create_key(hub: Hub, *, name: str, role: str,
               scopes: tuple[str, ...] = (), expires_at: datetime | None = None,
               actor: str) -> CreatedKey:
    """Make a key; the returned `key` is shown once and never stored."""
    if role not in KEY_ROLES:
        raise InvalidRequestError(f"role {role!r}: not one of {', '.join(KEY_ROLES)}")
    if not name.strip():
        raise InvalidRequestError("name: must not be empty")
    for scope in scopes:
        if not _SCOPE_RE.match(scope):
            raise InvalidRequestError(f"scope {scope!r}: lower-case letters, digits, _.:-")
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        prefix = _free_prefix(session)
        key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        row = ApiKey(name=name.strip(), prefix=prefix, secret_hash=hash_key(key), role=role,
                     scopes=sorted(set(scopes)), created_by=actor, created_at=now,
                     expires_at=expires_at, revoked_at=None, last_used_at=None)
        session.add(row)
        session.flush()
        hub.audit.append(session, [AuditEntry(
            actor=actor, action="apikey.create", target=f"apikey/{prefix}",
            detail={"name": row.name, "role": role, "scopes": row.scopes,
                    "expires_at": expires_at.isoformat() if expires_at else None},
        )])
        info = ApiKeyInfo.of(row)
    return CreatedKey(key=key, info=info)


def _free_prefix(session: Session) -> str:
    for _ in range(10):
        # Letters and digits only: a `_` or `-` in the prefix would make the key's parts
        # ambiguous to a person reading `hub_<prefix>_<secret>`.
        prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            return prefix
    raise ConflictError("could not find a free API key prefix")  # pragma: no cover


def list_keys(hub: Hub) -> list[ApiKeyInfo]:
    with hub.sessions() as session:
        return [ApiKeyInfo.of(row) for row in session.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(hub: Hub, prefix: str, *, actor: str) -> ApiKeyInfo:
    """Revoke the key with this prefix (or `hub_<prefix>…`); API processes drop it from their
    caches within `ApiKeyVerifier.cache_seconds`."""
    match = _KEY_RE.match(prefix)
    if match:  # a whole key was pasted: use its prefix only, never echo it
        prefix = match.group(1)
    elif prefix.startswith(KEY_PREFIX):
        prefix = prefix[len(KEY_PREFIX):].split("_", 1)[0]
    with hub.sessions.begin() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        if row is None:
            raise NotFoundError(f"no API key with prefix {prefix[:16]!r}")
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            hub.audit.append(session, [AuditEntry(actor=actor, action="apikey.revoke",
                                              target=f"apikey/{prefix}",
                                              detail={"name": row.name})])
        return ApiKeyInfo.of(row)


@dataclass(frozen=True, slots=True)
class VerifiedKey:
    """What the API needs of a valid key."""

    prefix: str
    role: str
    scopes: frozenset[str]
    expires_at: datetime | None

    @property
    def subject(self) -> str:
        return f"apikey:{self.prefix}"


@dataclass(slots=True)
class _Cached:
    key: VerifiedKey
    until: float
    touched: float


class ApiKeyVerifier:
    """Checks presented keys, caching good ones for `cache_seconds` in this process.

    Raises AuthenticationError whose message says why (never the key); `.subject` on the error
    names the key when it was found but refused (revoked or expired).
    """

    TOUCH_EVERY = 60.0
    MAX_CACHED = 10_000

    def __init__(self, sessions: sessionmaker[Session], *, cache_seconds: float = 30.0) -> None:
        self._sessions = sessions
        self.cache_seconds = cache_seconds
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> VerifiedKey | None:
        """The key if it is in the cache and still valid: no I/O, for the hot path."""
        entry = self._fresh(hash_key(key), time.monotonic())
        return None if entry is None else entry.key

    def admit(self, key: str) -> tuple[VerifiedKey, bool] | None:
        """`cached` and `due_for_touch` in one (the key hashed once, on every request):
        None when the key is not in the cache or no longer valid there (then `verify` it).
        """
        now = time.monotonic()
        entry = self._fresh(hash_key(key), now)
        return None if entry is None else (entry.key, self._due(entry, now))

    def _fresh(self, digest: str, now: float) -> _Cached | None:
        entry = self._cache.get(digest)
        if entry is None or entry.until <= now:
            return None
        _check_expiry(entry.key)
        return entry

    def verify(self, key: str) -> VerifiedKey:
        """Check the key against the store (blocking I/O: call from a worker thread)."""
        digest = hash_key(key)
        now = time.monotonic()
        entry = self._cache.get(digest)
        if entry is not None and entry.until > now:
            _check_expiry(entry.key)
            return entry.key
        match = _KEY_RE.match(key)
        if match is None:
            raise AuthenticationError("malformed API key")
        with self._sessions() as session:
            row = session.scalar(select(ApiKey).where(ApiKey.prefix == match.group(1)))
        if row is None or not hmac.compare_digest(row.secret_hash, digest):
            raise AuthenticationError("unknown API key")
        verified = VerifiedKey(prefix=row.prefix, role=row.role,
                               scopes=frozenset(row.scopes or ()),
                               expires_at=as_utc_or_none(row.expires_at))
        if row.revoked_at is not None:
            raise _refused("API key revoked", verified.subject)
        _check_expiry(verified)
        with self._lock:
            if len(self._cache) >= self.MAX_CACHED:
                self._cache.clear()
            # A refreshed entry keeps its last touch (so the once-a-minute write holds across
            # refreshes); a new one starts at -inf: its first use records last_used_at.
            touched = entry.touched if entry is not None else float("-inf")
            self._cache[digest] = _Cached(verified, now + self.cache_seconds, touched)
        return verified

    def due_for_touch(self, key: str) -> bool:
        """True at most once a minute per key: the caller should then call `touch`."""
        entry = self._cache.get(hash_key(key))
        return entry is not None and self._due(entry, time.monotonic())

    def _due(self, entry: _Cached, now: float) -> bool:
        if now - entry.touched < self.TOUCH_EVERY:
            return False
        entry.touched = now
        return True

    def touch(self, prefix: str) -> None:
        with self._sessions.begin() as session:
            session.execute(update(ApiKey).where(ApiKey.prefix == prefix)
                            .values(last_used_at=datetime.now(UTC)))

    def forget(self) -> None:
        self._cache.clear()


def verify_key_prefix(sessions: sessionmaker[Session], prefix: str) -> tuple[VerifiedKey, str]:
    """The key named by `prefix`, checked against the store now (no cache): for a console
    session, which holds the key's prefix and not the key, re-checked on every request so a
    revoked or expired key ends its sessions at once. Returns the key and its stored hash
    (which a session is bound to: a key made again under the same prefix is another key).
    Blocking I/O: call from a worker thread."""
    with sessions() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        raise AuthenticationError("unknown API key")
    verified = VerifiedKey(prefix=row.prefix, role=row.role, scopes=frozenset(row.scopes or ()),
                           expires_at=as_utc_or_none(row.expires_at))
    if row.revoked_at is not None:
        raise _refused("API key revoked", verified.subject)
    _check_expiry(verified)
    return verified, row.secret_hash


def _check_expiry(key: VerifiedKey) -> None:
    if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
        raise _refused("API key expired", key.subject)


def _refused(message: str, subject: str) -> AuthenticationError:
    error = AuthenticationError(message)
    error.subject = subject  # type: ignore[attr-defined]
    return error
