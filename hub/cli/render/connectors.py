"""Terminal views of the connector plugins and of a connection's probe."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from connectors.sdk import CheckResult
    from connectors.sdk.registry import ConnectorInfo

__all__ = ["check_table", "connectors_table"]


def connectors_table(rows: Iterable[tuple[ConnectorInfo, Any]]) -> Table:
    """Each registered connector with its class, package, title and streams."""
    table = Table("name", "class", "package", "title", "streams")
    for info, connector in rows:
        table.add_row(info.name, info.target, info.distribution or "", connector.title,
                      ", ".join(sorted(connector.streams)))
    return table


def check_table(connection: str, result: CheckResult) -> Table:
    """A probe's steps, yes or no, its latency and what the vendor said."""
    table = Table("check", "result", title=f"connection {connection}", title_justify="left")
    for step in ("reachable", "authenticated", "permitted"):
        good = getattr(result, step)
        table.add_row(step, Text("yes", "green") if good else Text("no", "red"))
    table.add_row("latency", f"{result.latency_ms} ms" if result.latency_ms else "—")
    if result.detail:
        table.add_row("detail", Text(result.detail))
    return table
