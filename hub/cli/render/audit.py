"""Terminal view of the audit log's newest rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table

__all__ = ["audit_table"]


def audit_table(rows: Sequence[Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("seq", "at (UTC)", "actor", "action", "target", "outcome"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row.seq), row.at.strftime("%Y-%m-%d %H:%M:%S"), row.actor,
                      row.action, row.target or "", row.outcome)
    return table
