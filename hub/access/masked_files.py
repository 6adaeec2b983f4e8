"""Spreadsheet downloads for a reader who may not see personal data: a masked copy, made as
it is sent. What the API's and the console's downloads of import error reports share.

Every cell goes through hub.access.masking, the header naming each column's rule (a `手机号`
column is masked as mobile numbers, whatever their format). A CSV is masked row by row as it
streams; an .xlsx is rewritten cell by cell (openpyxl, read-only in and write-only out: memory
does not grow with the rows) into an anonymous temporary file that is sent, then gone. Cell
styles (the report's highlighted bad cells, Excel's quote prefix) are kept, and no text
becomes a formula.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator
from copy import copy
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import quote

from hub.access.masking import FieldMasker, mask_personal_text

__all__ = ["MaskedFile", "attachment", "masked_file"]

_CHUNK = 1 << 16
_RISKY_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run as a formula
# What XML 1.0 cannot carry, written the way Excel (and the report writer) writes it.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class MaskedFile:
    """A masked copy's bytes, in chunks, and its length when known before it is sent (an
    .xlsx: made ahead; a CSV: masked as it streams)."""

    def __init__(self, chunks: Iterator[bytes], length: int | None) -> None:
        self.chunks = chunks
        self.length = length


def masked_file(path: Path, *, kind: Literal["xlsx", "csv"], masker: FieldMasker) -> MaskedFile:
    """The file at `path` (a CSV or a workbook with a header row), masked by `masker`."""
    if kind == "csv":
        return MaskedFile(_masked_csv(path, masker), None)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _chunks once sent
    try:
        _write_masked_xlsx(path, masker, spool)
        length = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return MaskedFile(_chunks(spool), length)


def attachment(filename: str) -> str:
    """A Content-Disposition naming `filename` (as Starlette's FileResponse writes it)."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    with spool:
        while chunk := spool.read(_CHUNK):
            yield chunk


def _neutral(masked: Any, original: Any) -> Any:
    """`masked` never starts like a formula where `original` did not."""
    if (isinstance(masked, str) and masked.startswith(_RISKY_START)
            and not (isinstance(original, str) and original.startswith(_RISKY_START))):
        return "'" + masked
    return masked


def _masked_csv(path: Path, masker: FieldMasker) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # the report's UTF-8 BOM, for Excel
    with path.open(encoding="utf-8-sig", newline="") as source:
        reader = csv.reader(source)
        header = next(reader, None)
        if header is not None:
            writer.writerow([mask_personal_text(name) for name in header])
        rules = [masker.rule_for(name) for name in header or ()]
        no_rule = masker.rule_for("")
        for row in reader:
            writer.writerow([
                _neutral(masker.mask_value(rules[i] if i < len(rules) else no_rule, cell),
                         cell)
                for i, cell in enumerate(row)])
            if buffer.tell() >= _CHUNK:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode()


def _write_masked_xlsx(path: Path, masker: FieldMasker, out: IO[bytes]) -> None:
    from openpyxl import Workbook, load_workbook  # heavy: only when a report is asked for

    source = load_workbook(path, read_only=True)
    try:
        target = Workbook(write_only=True)
        for sheet in source.worksheets:
            copied = target.create_sheet(sheet.title)
            copied.freeze_panes = "A2"  # the header row stays in view, as in the report
            rules: list[Any] | None = None
            no_rule = masker.rule_for("")
            for row in sheet.iter_rows():
                if rules is None:  # the header row
                    rules = [masker.rule_for(str(cell.value or "")) for cell in row]
                    copied.append([_cell(copied, cell, _header(cell.value)) for cell in row])
                    continue
                copied.append([_cell(copied, cell, masker.mask_value(
                    rules[i] if i < len(rules) else no_rule, cell.value))
                    for i, cell in enumerate(row)])
        target.save(out)
    finally:
        source.close()


def _header(value: Any) -> Any:
    return mask_personal_text(value) if isinstance(value, str) else value


def _cell(sheet: Any, cell: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str) and _UNWRITABLE.search(value):
        value = _UNWRITABLE.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    written = WriteOnlyCell(sheet, value=value)
    if getattr(cell, "has_style", False):
        written.font = copy(cell.font)
        written.fill = copy(cell.fill)
        written.number_format = cell.number_format
        written.quotePrefix = bool(cell.style_array.quotePrefix)
    if isinstance(value, str):
        written.data_type = "s"  # never a formula, whatever the text starts with
        if value.startswith(_RISKY_START):
            written.quotePrefix = True
    return written
