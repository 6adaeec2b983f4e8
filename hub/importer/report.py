"""The error report: the rejected rows with their original columns, the source row number and
every error of the row, as .xlsx (bad cells highlighted) or .csv, ready to fix and import again.

Text that a spreadsheet would run as a formula (starting with = + - @, tab or CR) is
neutralised in both kinds the same way: the value gets a leading apostrophe, so whatever
copies the value out (a script, another tool, a paste as text) gets inert text, never a
formula. In .xlsx it is also a string cell with Excel's quote prefix, so it is never run even
once the apostrophe is edited away. Importing a fixed report takes the apostrophe off again
(`hub.importer.pipeline`), restoring the original text.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

__all__ = ["ERRORS_COLUMN", "REPORT_EXTRA_COLUMNS", "SOURCE_ROW_COLUMN", "CellError", "RejectedRow",
           "write_report"]

SOURCE_ROW_COLUMN = "源行号 / source row"
ERRORS_COLUMN = "错误 / errors"
REPORT_EXTRA_COLUMNS: tuple[str, str] = (SOURCE_ROW_COLUMN, ERRORS_COLUMN)
"""The columns a report adds after the original ones; an import drops them by name."""

_RISKY_START = ("=", "+", "-", "@", "\t", "\r")
_MAX_CELL = 32_767  # Excel's limit: a longer cell makes the workbook "need repair"
# What XML 1.0 cannot carry, and a carriage return (XML turns it into a line feed) are written
# the way Excel writes them, as _xHHHH_; a literal "_xHHHH_" gets its underscore escaped.
_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)|[\x00-\x08\x0b-\x0d\x0e-\x1f]")
_UNWRITABLE = re.compile(r"[\ud800-\udfff\ufffe\uffff]")
_BAD_FILL = "FFC7CE"  # Excel's own "bad" cell colour
_ERROR_FONT = "9C0006"


@dataclass(frozen=True, slots=True)
class CellError:
    """What is wrong with a row: `column` is the source header it concerns, None for the
    whole row (a duplicate key, a lookup that found nothing...)."""

    column: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.column}: {self.message}" if self.column else self.message


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A source row that was not imported, with its values as read and all its errors."""

    row_number: int
    values: list[Any]
    errors: list[CellError] = field(default_factory=list)


def write_report(path: Path, *, headers: list[str], rows: Iterable[RejectedRow],
                 kind: Literal["xlsx", "csv"] = "xlsx") -> int:
    """Write the error report for `rows`, streaming (memory does not grow with the rows).

    The file is written next to `path` and moved into place when complete, so a reader never
    sees half a report.

    Args:
        path: where to write the report.
        headers: the source file's headers, in order.
        rows: the rejected rows, in source order.
        kind: "xlsx" (highlighted bad cells, bold frozen header) or "csv" (UTF-8 with BOM).

    Returns:
        The number of rows written (not counting the header).
    """
    if kind not in ("xlsx", "csv"):
        raise ValueError(f"kind must be 'xlsx' or 'csv', not {kind!r}")
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        writer = _write_xlsx if kind == "xlsx" else _write_csv
        count = writer(partial, list(headers), rows)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return count


def _error_text(errors: list[CellError]) -> str:
    text = "; ".join(map(str, errors))
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _fit(values: list[Any], width: int) -> list[Any]:
    if len(values) >= width:
        return values[:width]
    return [*values, *([None] * (width - len(values)))]


def _write_csv(path: Path, headers: list[str], rows: Iterable[RejectedRow]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow([_csv_text(h) for h in (*headers, *REPORT_EXTRA_COLUMNS)])
        for row in rows:
            values = [_csv_value(v) for v in _fit(row.values, len(headers))]
            out.writerow([*values, row.row_number, _csv_text(_error_text(row.errors))])
            count += 1
    return count


def _csv_text(text: str) -> str:
    return "'" + text if text.startswith(_RISKY_START) else text


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return _csv_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # 13800000000.0 from a workbook is the number 13800000000
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _write_xlsx(path: Path, headers: list[str], rows: Iterable[RejectedRow]) -> int:
    from openpyxl import Workbook  # heavy; never at import time of the CLI
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("rejected")
    sheet.freeze_panes = "A2"
    all_headers = [*headers, *REPORT_EXTRA_COLUMNS]
    for i, header in enumerate(all_headers, 1):
        sheet.column_dimensions[get_column_letter(i)].width = min(max(10, len(header) * 2), 40)
    sheet.column_dimensions[get_column_letter(len(all_headers))].width = 60
    bold, bad_fill = Font(bold=True), PatternFill("solid", fgColor=_BAD_FILL)
    error_font = Font(color=_ERROR_FONT)
    index = {h: i for i, h in reversed(list(enumerate(headers)))}

    def cell(value: Any, *, fill: bool = False, font: Font | None = None) -> WriteOnlyCell:
        risky = isinstance(value, str) and value.startswith(_RISKY_START)
        c = WriteOnlyCell(sheet, value=_xlsx_value("'" + value if risky else value))
        if isinstance(value, str):
            c.data_type = "s"  # never a formula, whatever the text starts with
            if risky:
                c.quotePrefix = True
        if fill:
            c.fill = bad_fill
        if font is not None:
            c.font = font
        return c

    sheet.append([cell(h, font=bold) for h in all_headers])
    count = 0
    try:
        for row in rows:
            bad = {index[e.column] for e in row.errors if e.column in index}
            values = _fit(row.values, len(headers))
            sheet.append([*(cell(v, fill=i in bad) for i, v in enumerate(values)),
                          cell(row.row_number),
                          cell(_error_text(row.errors), font=error_font)])
            count += 1
    except BaseException:
        with suppress(Exception):
            workbook.save(path)  # finishes and removes openpyxl's temporary file; then dropped
        raise
    workbook.save(path)
    return count


def _ooxml_escape(text: str) -> str:
    if _UNWRITABLE.search(text):
        text = _UNWRITABLE.sub("\ufffd", text)
    return _ESCAPE.sub(lambda m: f"_x{ord(m.group()):04X}_", text) if _ESCAPE.search(text) \
        else text


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, str):
        value = value if len(value) <= _MAX_CELL else value[: _MAX_CELL - 1] + "…"
        return _ooxml_escape(value)
    if value is None or isinstance(value, bool | int | float | datetime | date | time
                                   | timedelta):
        return value
    return str(value)
