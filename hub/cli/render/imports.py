"""Terminal views of imports: one import's counts and report, and the latest imports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["import_summary", "imports_table"]


def import_summary(summary: Any) -> RenderableType:
    """An import's counts and where its error report is."""
    title = f"Import {summary.id} of {summary.file_name} ({summary.mapping}): {summary.status}"
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    for column in ("read", "created", "updated", "unchanged", "rejected", "skipped"):
        table.add_column(column, justify="right")
    table.add_row(*(f"{value:,}" for value in (summary.read, summary.created, summary.updated,
                                               summary.unchanged, summary.rejected,
                                               summary.skipped)))
    lines: list[RenderableType] = [table]
    if getattr(summary, "sheet_chosen", None):
        note = summary.sheet_chosen
        lines.append(Text(f"{note[:1].upper()}{note[1:]}."))
    if summary.duplicate_of is not None:
        lines.append(Text(f"This file was already imported through {summary.mapping} "
                          f"(import {summary.duplicate_of}); nothing done. Use --force to "
                          "import it again.", style="yellow"))
    if summary.report_xlsx:
        lines.append(Text.assemble(("Rejected rows, with every error: ", "bold"),
                                   summary.report_xlsx, " (also ", summary.report_csv or "",
                                   "). Fix them there and import the report again."))
    if summary.error:
        lines.append(Text(summary.error, style="red"))
    return Group(*lines)


def imports_table(summaries: Sequence[Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("id", "file", "mapping", "status", "read", "created", "updated",
                   "rejected", "started (UTC)"):
        table.add_column(column)
    for s in summaries:
        table.add_row(str(s.id), s.file_name, s.mapping, s.status, f"{s.read:,}",
                      f"{s.created:,}", f"{s.updated:,}", f"{s.rejected:,}",
                      s.started_at.strftime("%Y-%m-%d %H:%M") if s.started_at else "")
    return table
