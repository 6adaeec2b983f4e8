"""Terminal view of the API keys (never a secret: prefixes, names, roles and dates)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from hub.access.apikeys import ApiKeyInfo

__all__ = ["keys_table"]


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at else "-"


def keys_table(keys: Sequence[ApiKeyInfo]) -> Table:
    """Each key: prefix, name, role, scopes, and when it was made, expires, was revoked and
    last used."""
    table = Table("prefix", "name", "role", "scopes", "created", "expires", "revoked",
                  "last used")
    for key in keys:
        table.add_row(Text(key.prefix), Text(key.name), key.role, ",".join(key.scopes) or "-",
                      _when(key.created_at), _when(key.expires_at), _when(key.revoked_at),
                      _when(key.last_used_at))
    return table
