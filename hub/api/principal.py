"""The caller and the roles' permissions: defined in hub.access.principal (the console admits
its users with the same vocabulary); named here for the API's modules."""

from __future__ import annotations

from hub.access.principal import AREAS, ROLE_PERMISSIONS, ROLES, Principal

__all__ = ["AREAS", "ROLE_PERMISSIONS", "ROLES", "Principal"]
