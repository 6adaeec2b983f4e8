"""Who is calling, and what each role may touch: the vocabulary the API and the console share.

Each router belongs to an *area*; a role holds `area:read` and/or `area:write` permissions
(GET/HEAD/OPTIONS read, anything else writes). The `pii` scope lets a caller see personal
data unmasked; admins always do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.access.apikeys import VerifiedKey

__all__ = ["AREAS", "ROLE_PERMISSIONS", "ROLES", "Principal", "principal_of_key"]

ROLES = ("agent", "integrator", "admin")
AREAS = ("tickets", "customers", "kb", "imports", "jobs", "runs", "outbox", "audit",
         "connections", "webhooks")

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "agent": frozenset({"tickets:read", "tickets:write", "customers:read", "kb:read"}),
    # Connections, jobs (list, pause, resume, trigger) and runs, webhook events (under
    # connections), imports, the outbox and its dead letters (replay): as the README says.
    "integrator": frozenset({"connections:read", "connections:write", "runs:read",
                             "jobs:read", "jobs:write", "webhooks:read", "imports:read",
                             "imports:write", "outbox:read", "outbox:write", "kb:read"}),
    "admin": frozenset(f"{area}:{mode}" for area in AREAS for mode in ("read", "write")),
}
_NO_PERMISSIONS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    Attributes:
        subject: who, as the audit log names them: `apikey:<prefix>` or `jwt:<sub>`.
        roles: agent, integrator and/or admin.
        scopes: extra grants; `pii` shows personal data unmasked.
        via: "api_key" or "jwt".
    """

    subject: str
    roles: frozenset[str]
    scopes: frozenset[str] = field(default_factory=frozenset)
    via: str = "api_key"

    @property
    def actor(self) -> str:
        return f"api:{self.subject}"

    def may(self, permission: str) -> bool:
        for role in self.roles:  # every request asks: a loop, not any() over a generator
            if permission in ROLE_PERMISSIONS.get(role, _NO_PERMISSIONS):
                return True
        return False

    @property
    def sees_personal_data(self) -> bool:
        return "admin" in self.roles or "pii" in self.scopes


def principal_of_key(key: VerifiedKey) -> Principal:
    """The caller an API key speaks for: its role, its scopes."""
    return Principal(subject=key.subject, roles=frozenset({key.role}), scopes=key.scopes,
                     via="api_key")
