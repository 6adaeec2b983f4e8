"""Which sheet and columns an import reads: the mapping's required columns, the sheet whose
header row holds them (when neither the user nor the mapping names one), and the checks that
refuse a file before any row is written (a required column missing, no data row)."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

from ..mapping import CompiledMapping
from ..mapping.paths import Key, parse_path
from ._safety import ImportFileError, sniff_kind
from .readers import DEFAULT_LIMITS, ReadLimits, Table, open_table, sheet_names
from .report import ERRORS_COLUMN

__all__ = ["checked_headers", "open_for_mapping", "required_columns", "restored",
           "sample_records"]

_NEUTRALISED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def restored(value: Any) -> Any:
    """A report cell as the user first wrote it: reports prefix risky text with `'`."""
    if isinstance(value, str) and value.startswith(_NEUTRALISED):
        return value[1:]
    return value


def required_columns(mapping: CompiledMapping) -> list[str]:
    """The source columns the mapping cannot do without (required fields read by path)."""
    columns = []
    for spec in mapping.spec.fields.values():
        if spec.required and spec.path is not None:
            first = parse_path(spec.path)[0]
            if isinstance(first, Key) and first.name not in columns:
                columns.append(first.name)
    return columns


def _headers(table: Table) -> list[str]:
    headers = list(table.headers)
    if ERRORS_COLUMN in headers:  # our own report: a risky header carries a quote too
        headers = [restored(h) for h in headers]
    return headers


def open_for_mapping(path: Path, mapping: CompiledMapping, reader: dict[str, Any], *,
                     limits: ReadLimits = DEFAULT_LIMITS) -> tuple[Table, str | None]:
    """Open the table an import of `path` through `mapping` reads, and say which sheet was
    chosen when it was not given: the first visible sheet whose header row holds the
    mapping's required columns (an instructions sheet first in the workbook is passed
    over). When none does, the error lists each sheet looked at and what it lacked."""
    if reader.get("sheet") is not None or sniff_kind(path) != "xlsx":
        return open_table(path, **reader, limits=limits), None
    names = sheet_names(path, limits)
    required = required_columns(mapping)
    if len(names) < 2 or not required:
        return open_table(path, **reader, limits=limits), None
    looked: list[str] = []
    for name in names:
        try:
            table = open_table(path, **{**reader, "sheet": name}, limits=limits)
        except ImportFileError as exc:
            looked.append(f"sheet {name!r}: {exc.reason}")
            continue
        headers = _headers(table)
        missing = [c for c in required if c not in headers]
        if not missing:
            passed = f"; passed over {'; '.join(looked)}" if looked else ""
            return table, (f"sheet {name!r} chosen: its header row {table.header_row} holds "
                           f"{', '.join(required)}{passed}")
        table.close()
        looked.append(f"sheet {name!r} (header row {table.header_row}) lacks "
                      f"{', '.join(missing)}")
    raise ImportFileError(path, f"no sheet has the columns mapping '{mapping.name}' requires "
                                f"({', '.join(required)}): {'; '.join(looked)}; name the sheet "
                                f"(`sheet:` in the mapping, or --sheet)")


def checked_headers(path: Path, table: Table, mapping: CompiledMapping) -> list[str]:
    """The headers rows are read under; refuses a file that lacks a required column or has
    no data row (a header-only file would "succeed" with nothing, and then be a no-op)."""
    headers = _headers(table)
    missing = [c for c in required_columns(mapping) if c not in headers]
    where = f"sheet {table.sheet!r}, " if table.sheet is not None else ""
    if missing:
        found = ", ".join(table.headers) or "none"
        raise ImportFileError(path, f"missing required column(s) {', '.join(missing)} "
                                    f"(mapping '{mapping.name}'); {where}header row "
                                    f"{table.header_row} has: {found}")
    if table.is_empty:
        raise ImportFileError(path, f"has no data rows: {where}header row {table.header_row} "
                                    f"is the last row with values; nothing to import")
    return headers


def sample_records(path: Path, mapping: CompiledMapping, reader: dict[str, Any], *,
                   limit: int) -> tuple[list[tuple[int, dict[str, Any]]], str | None]:
    """The first `limit` records of a spreadsheet as an import of it reads them, each with
    its spreadsheet row number (the number the import's error report gives it), and the
    note on the sheet chosen, if the importer chose it. For `hub mappings preview`."""
    table, chosen = open_for_mapping(path, mapping, reader)
    records: list[tuple[int, dict[str, Any]]] = []
    with table, closing(table.rows()) as rows:
        headers = checked_headers(path, table, mapping)
        report = ERRORS_COLUMN in headers
        for number, values in rows:
            if report:  # as the import reads a fixed error report
                values = [restored(value) for value in values]
            records.append((number, dict(zip(headers, values, strict=False))))
            if len(records) >= limit:
                break
    return records, chosen
