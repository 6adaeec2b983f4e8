"""Terminal view of `hub doctor`'s findings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from hub.admin.doctor import Finding

__all__ = ["findings_table"]


def findings_table(findings: Sequence[Finding]) -> Table:
    """One line per finding: ok or !!, its area, what was found in plain words."""
    table = Table("", "check", "finding", box=None, show_header=False)
    for finding in findings:
        table.add_row(Text("ok", "green") if finding.ok else Text("!!", "red"),
                      Text(finding.area), Text(finding.message))
    return table
