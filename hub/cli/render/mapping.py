"""Rich renderings for `hub mappings preview` and `hub mappings explain`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hub.admin.preview import PreviewRow
from hub.core.jsonable import to_jsonable
from hub.mapping import CompiledMapping

__all__ = ["explain_view", "preview_view"]

_MAX_VALUE = 60


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(to_jsonable(value),
                                                          ensure_ascii=False, default=str)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        items: list[tuple[str, Any]] = []
        for key, child in value.items():
            items += _flatten(child, f"{prefix}{key}.")
        return items
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items = []
        for index, child in enumerate(value):
            items += _flatten(child, f"{prefix[:-1]}[{index}].")
        return items
    return [(prefix[:-1] or "(value)", value)]


def preview_view(mapping: CompiledMapping, rows: Sequence[PreviewRow]) -> RenderableType:
    """Input beside output for each row; failed fields in red with the rule they broke."""
    parts: list[RenderableType] = []
    for row in rows:
        if row.errors:
            status = Text(f"{len(row.errors)} error(s)", style="bold red")
        elif row.skipped:
            status = Text("skipped by the filter", style="dim")
        else:
            status = Text("ok", style="green")
        table = Table(box=box.SIMPLE_HEAD, expand=True, title_justify="left",
                      title=Text.assemble(f"row {row.row}  ", status))
        table.add_column("input", ratio=1, overflow="fold")
        table.add_column("output", ratio=1, overflow="fold")
        inputs = [Text.assemble((f"{key}: ", "dim"), _value(value))
                  for key, value in _flatten(row.record)]
        outputs = [Text.assemble((f"{key}: ", "cyan"), _value(value))
                   for key, value in _flatten(row.output or {})] if row.output else []
        outputs += [Text.assemble((f"{error.field}: ", "bold red"),
                                  (f"{error.message}", "red"),
                                  (f"  [{error.rule}]" if error.rule else "", "dim red"))
                    for error in row.errors]
        for index in range(max(len(inputs), len(outputs))):
            table.add_row(inputs[index] if index < len(inputs) else "",
                          outputs[index] if index < len(outputs) else "")
        parts.append(table)
    good = sum(1 for row in rows if row.output is not None)
    bad = sum(1 for row in rows if row.errors)
    skipped = sum(1 for row in rows if row.skipped)
    parts.append(Text(f"{mapping.label}: {len(rows)} rows — {good} mapped, {bad} with errors, "
                      f"{skipped} skipped", style="bold"))
    return Group(*parts)


def explain_view(mapping: CompiledMapping, field: str, steps: Sequence[str]) -> RenderableType:
    table = Table(box=box.SIMPLE_HEAD, title=f"{mapping.label} → {field}",
                  title_justify="left", show_header=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("step")
    for number, step in enumerate(steps, start=1):
        table.add_row(str(number), step)
    return table
