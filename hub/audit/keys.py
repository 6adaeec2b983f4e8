"""The audit chain's keys: HMAC-SHA256 under `HUB_AUDIT_KEY`, kept outside the store.

Each row records the id of the key that signed it (the first 8 hex digits of a SHA-256 of
the key, never the key). `HUB_AUDIT_OLD_KEYS` (comma-separated) lists the keys rows were
signed with before a rotation, so they still verify. With no `HUB_AUDIT_KEY`, a key is made
on first use into `HUB_AUDIT_KEY_FILE` (`.hub/audit.key`, mode 0600): the demo and tests
need no set-up, and `hub doctor` says the key sits beside the store.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from hub.core.settings import Settings

__all__ = ["AuditKey", "AuditKeys", "key_id_of"]


def key_id_of(secret: bytes) -> str:
    return hashlib.sha256(b"hub-audit-key-id|" + secret).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class AuditKey:
    key_id: str
    secret: bytes = field(repr=False)

    @classmethod
    def of(cls, secret: str | bytes) -> AuditKey:
        raw = secret.encode() if isinstance(secret, str) else secret
        return cls(key_id_of(raw), raw)

    def mac(self, *parts: object) -> str:
        message = "|".join(str(part) for part in parts).encode()
        return hmac.digest(self.secret, message, "sha256").hex()


@dataclass(frozen=True, slots=True)
class AuditKeys:
    """The key new rows are signed with, and every key old rows may have been signed with."""

    current: AuditKey
    known: dict[str, AuditKey]
    source: str = "HUB_AUDIT_KEY"

    @classmethod
    def of(cls, current: str | bytes, *old: str | bytes, source: str = "HUB_AUDIT_KEY"
           ) -> AuditKeys:
        keys = [AuditKey.of(secret) for secret in (current, *old) if secret]
        known = {key.key_id: key for key in reversed(keys)}
        return cls(keys[0], known, source)

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditKeys:
        old = [part.strip() for part in (settings.audit_old_keys.get_secret_value()
                                         if settings.audit_old_keys else "").split(",")]
        file_key = _read_key_file(settings.audit_key_file)
        if settings.audit_key is not None and settings.audit_key.get_secret_value():
            # A key generated before HUB_AUDIT_KEY was set still verifies its rows.
            return cls.of(settings.audit_key.get_secret_value(), *old, file_key or "")
        key = file_key or _make_key_file(settings.audit_key_file)
        return cls.of(key, *old, source=str(settings.audit_key_file))

    def find(self, key_id: str) -> AuditKey | None:
        return self.known.get(key_id)


def _read_key_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None


def _make_key_file(path: Path) -> str:
    """Write a new random key; if another process wrote one first, use theirs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)  # atomic, and refuses to replace a key another process made
        except FileExistsError:
            pass
    finally:
        draft.unlink(missing_ok=True)
    key = _read_key_file(path)
    if key is None:
        raise RuntimeError(f"{path}: the audit key file is empty")
    return key
