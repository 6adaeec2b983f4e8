"""XLSX sources. The workbook's structure is read from its small parts; the chosen sheet's part
is pre-scanned (streamed: byte counts and a few regexes) for its true extent and oversized
text; then an ordinary sheet is loaded whole by python-calamine (fast), while a large or unusual
one (sparse far-away cells, missing cell references, huge text, prefixed XML) is streamed by
`_xlsx_stream`.

The pre-scan is what makes calamine safe: it allocates the sheet's whole used range, so a
5 KB file with one cell at XFD1048576 would ask for billions of cells."""

from __future__ import annotations

import itertools
import posixpath
import re
import zipfile
import zlib
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from hub.core.cells import ExcelError

from ._safety import ImportFileError, ReadLimits, check_zip
from ._xlsx_stream import StreamSource, column_index, date_styles, shared_strings

__all__ = ["CalamineSource", "open_xlsx", "visible_sheets"]

Merge = tuple[tuple[int, int], tuple[int, int]]
_MIB = 1 << 20
_CHUNK = _MIB
_MAX_PART_BYTES = 64 * _MIB  # workbook, relationships and styles parts: parsed whole
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAX_ERROR_CELLS = 100_000  # beyond: streamed, not held
_ERROR_MARK = b't="e"'
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet[\s>]")


@dataclass(frozen=True, slots=True)
class _Sheet:
    name: str
    member: str
    kind: str  # worksheet, chartsheet, dialogsheet, macrosheet
    hidden: bool


@dataclass(slots=True)
class _Workbook:
    sheets: list[_Sheet]
    date1904: bool
    strings: str | None
    styles: str | None


@dataclass(slots=True)
class _Scan:
    prefix: str = ""
    max_row: int = 0
    max_column: int = -1
    missing_refs: bool = False
    too_wide: bool = False
    long_text: bool = False
    # error cells (`t="e"`), which python-calamine gives as '': row -> [(column, code)]
    errors: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    error_count: int = 0
    errors_unsure: bool = False  # some error cell not read here: the stream reader reads it


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read_part(path: Path, zf: zipfile.ZipFile, name: str) -> bytes:
    size = zf.getinfo(name).file_size
    if size > _MAX_PART_BYTES:
        raise ImportFileError(path, f"the workbook part {name} is {size / _MIB:,.0f} MiB "
                                    f"(limit {_MAX_PART_BYTES / _MIB:,.0f} MiB)")
    try:
        data = zf.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ImportFileError(path, f"the workbook is damaged: cannot inflate {name} ({exc})") \
            from None
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ImportFileError(path, f"{name} declares a DTD, which no Excel file does")
    return data


def _parse(path: Path, zf: zipfile.ZipFile, name: str) -> ET.Element:
    try:
        return ET.fromstring(_read_part(path, zf, name))
    except ET.ParseError as exc:
        raise ImportFileError(path, f"the workbook is damaged: {name} is not well-formed XML "
                                    f"({exc})") from None


def _relationships(path: Path, zf: zipfile.ZipFile, name: str, base: str
                   ) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type suffix, member path)."""
    if name not in zf.NameToInfo:
        return {}
    found: dict[str, tuple[str, str]] = {}
    for rel in _parse(path, zf, name):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External" or not target:
            continue
        member = target.lstrip("/") if target.startswith("/") else \
            posixpath.normpath(posixpath.join(base, target))
        found[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], member)
    return found


def _read_workbook(path: Path, zf: zipfile.ZipFile) -> _Workbook:
    rels = _relationships(path, zf, "xl/_rels/workbook.xml.rels", "xl")
    root = _parse(path, zf, "xl/workbook.xml")
    sheets: list[_Sheet] = []
    date1904 = False
    for element in root.iter():
        tag = _local(element.tag)
        if tag == "workbookPr":
            date1904 = element.get("date1904", "0").lower() in ("1", "true")
        elif tag == "sheet":
            rid = element.get(f"{{{_REL}}}id") or next(
                (v for k, v in element.attrib.items() if _local(k) == "id"), "")
            kind, member = rels.get(rid, ("worksheet", ""))
            sheets.append(_Sheet(element.get("name", ""), member, kind,
                                 element.get("state", "visible") != "visible"))
    by_type = dict(rels.values())

    def part(kind: str, default: str) -> str | None:
        found = [m for m in (by_type.get(kind), default) if m and m in zf.NameToInfo]
        return found[0] if found else None

    return _Workbook(sheets, date1904, part("sharedStrings", "xl/sharedStrings.xml"),
                     part("styles", "xl/styles.xml"))


def _choose(path: Path, zf: zipfile.ZipFile, workbook: _Workbook, sheet: str | int | None
            ) -> _Sheet:
    sheets = workbook.sheets
    if not sheets:
        raise ImportFileError(path, "the workbook has no sheets")
    listing = ", ".join(f"{i} {s.name!r}" for i, s in enumerate(sheets))
    chosen: _Sheet | None
    if sheet is None:
        worksheets = [s for s in sheets if s.kind == "worksheet"]
        chosen = next((s for s in worksheets if not s.hidden), worksheets[0] if worksheets
                      else sheets[0])
    elif isinstance(sheet, int):
        if not -len(sheets) <= sheet < len(sheets):
            raise ImportFileError(path, f"there is no sheet number {sheet} (counting from 0); "
                                        f"the sheets are: {listing}")
        chosen = sheets[sheet]
    else:
        wanted = sheet.strip()
        chosen = next((s for s in sheets if s.name == sheet), None) or next(
            (s for s in sheets if s.name.strip().casefold() == wanted.casefold()), None)
        if chosen is None and wanted.isdigit() and int(wanted) < len(sheets):
            chosen = sheets[int(wanted)]
        if chosen is None:
            raise ImportFileError(path, f"there is no sheet named {sheet!r}; the sheets are: "
                                        f"{listing}")
    if chosen.kind != "worksheet":
        raise ImportFileError(path, f"sheet {chosen.name!r} is a {chosen.kind}, not a table")
    if chosen.member not in zf.NameToInfo:
        raise ImportFileError(path, f"the workbook is damaged: sheet {chosen.name!r} has no "
                                    f"part {chosen.member!r}")
    return chosen


def _blocks(path: Path, zf: zipfile.ZipFile, member: str) -> Generator[bytes, None, None]:
    """A member's bytes in blocks of about 1 MiB, each ending just before a `<`, so no tag is
    cut in two (a text run longer than a block comes in pieces; it has no tags to cut)."""
    tail = b""
    try:
        with zf.open(member) as f:
            while chunk := f.read(_CHUNK):
                data = tail + chunk
                cut = data.rfind(b"<")
                if cut <= 0:
                    yield data
                    tail = b""
                else:
                    yield data[:cut]
                    tail = data[cut:]
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ImportFileError(path, f"the workbook is damaged: cannot inflate {member} ({exc})") \
            from None
    if tail:
        yield tail


def _long_run(block: bytes, limit: int) -> bool:
    """Whether some stretch between two `<` is at least `limit` bytes. Such a stretch covers a
    whole window of a grid of `limit // 2`-byte windows, so only windows with no `<` at all
    (rare, and cheap to find) are measured exactly."""
    step = max(limit // 2, 1)
    for at in range(0, len(block), step):
        if block.find(b"<", at, at + step) == -1:
            start = block.rfind(b"<", 0, at) + 1
            end = block.find(b"<", at + step)
            if (len(block) if end == -1 else end) - start >= limit:
                return True
    return False


def _scan_sheet(path: Path, zf: zipfile.ZipFile, member: str, limits: ReadLimits) -> _Scan:
    """One streamed pass over the sheet part with bytes counts and regexes: a conservative
    bound of the used range, whether any cell lacks a reference, oversized text runs."""
    scan = _Scan()
    with closing(_blocks(path, zf, member)) as blocks:
        head = next(blocks, b"")
        _scan_blocks(path, scan, head, blocks, member, limits)
    scan.too_wide = scan.max_column >= limits.max_columns
    return scan


def _scan_blocks(path: Path, scan: _Scan, head: bytes, blocks: Iterator[bytes], member: str,
                 limits: ReadLimits) -> None:
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise ImportFileError(path, f"{member} declares a DTD, which no Excel file does")
    root = _ROOT.search(head)
    prefix = root.group(1) + b":" if root and root.group(1) else b""
    scan.prefix = prefix.decode()
    p = re.escape(prefix)
    row_ref = re.compile(rb"<" + p + rb'row r="(\d+)"')
    rows, cells = b"<" + prefix + b"row", b"<" + prefix + b"c"
    cell_refs = cells + b' r="'
    counted_rows = referenced_rows = 0
    for block in itertools.chain([head], blocks):
        numbers = row_ref.findall(block)
        if numbers:
            referenced_rows += len(numbers)
            scan.max_row = max(scan.max_row, max(map(int, numbers)))
        counted_rows += block.count(rows)  # (also counts <rowBreaks>: errs on the safe side)
        with_refs = block.count(cell_refs)
        if block.count(cells) != with_refs and not scan.missing_refs:  # <cols>, <cfRule>...
            scan.missing_refs = with_refs != sum(
                block.count(cells + end) for end in (b" ", b">", b"/"))
        # Column letters past the widest seen so far: longer ones, or later single letters.
        if scan.max_column < 25:
            wider = rb"[A-Z]{2,3}|[" + chr(66 + scan.max_column).encode() + rb"-Z]"
        else:
            wider = rb"[A-Z]{2,3}" if scan.max_column < 701 else rb"[A-Z]{3}"
        for letters in set(re.findall(rb"<" + p + rb'c r="(' + wider + rb")\d", block)):
            scan.max_column = max(scan.max_column, column_index(letters.decode()))
        if not scan.long_text:
            scan.long_text = _long_run(block, limits.max_cell_chars)
        if _ERROR_MARK in block and not scan.errors_unsure:
            _scan_errors(scan, block, p)
    if counted_rows > referenced_rows:
        scan.max_row += counted_rows  # rows without `r`: count them on top, to be safe


def _scan_errors(scan: _Scan, block: bytes, p: bytes) -> None:
    """Note the error cells of a block (`<c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c>`);
    unsure (a cell cut by the block's end, no reference, too many) leaves them to the stream
    reader."""
    cells = re.findall(rb"<" + p + rb"c\s([^>]*\bt=\"e\"[^>]*?)(?:/>|>(.*?)</" + p + rb"c>)",
                       block, re.DOTALL)
    if len(cells) != block.count(_ERROR_MARK):
        scan.errors_unsure = True
        return
    value = re.compile(rb"<" + p + rb"v>([^<]*)</" + p + rb"v>")
    for attributes, body in cells:
        ref = re.search(rb'\br="([A-Z]{1,3})(\d+)"', attributes)
        code = value.search(body)
        if ref is None or scan.error_count >= _MAX_ERROR_CELLS:
            scan.errors_unsure = True
            return
        if code is None or not code.group(1):
            continue  # no cached value: blank, as the stream reader reads it
        scan.error_count += 1
        scan.errors.setdefault(int(ref.group(2)), []).append(
            (column_index(ref.group(1).decode()), unescape(code.group(1).decode())))


def _merges(path: Path, zf: zipfile.ZipFile, member: str, prefix: str) -> list[Merge]:
    """The merged ranges (`<mergeCell ref="A1:C1"/>`, after the cells) as 0-based corners."""
    merge = re.compile(rb"<" + re.escape(prefix.encode()) +
                       rb'mergeCell ref="([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)"')
    with closing(_blocks(path, zf, member)) as blocks:
        return [((int(r0) - 1, column_index(c0.decode())),
                 (int(r1) - 1, column_index(c1.decode())))
                for block in blocks for c0, r0, c1, r1 in merge.findall(block)]


def _long_strings(path: Path, zf: zipfile.ZipFile, member: str, limits: ReadLimits) -> bool:
    with closing(_blocks(path, zf, member)) as blocks:
        return any(_long_run(block, limits.max_cell_chars) for block in blocks)


class CalamineSource:
    """Rows of a sheet python-calamine has loaded whole."""

    kind = "xlsx"
    engine = "calamine"

    def __init__(self, path: Path, sheet: str, *, max_row: int,
                 errors: dict[int, list[tuple[int, str]]] | None = None) -> None:
        import python_calamine as calamine  # heavy; never at import time of the CLI

        self.path, self.sheet, self._max_row = path, sheet, max_row
        self._errors = errors or {}
        try:
            self._workbook = calamine.CalamineWorkbook.from_path(str(path))
            self._sheet = self._workbook.get_sheet_by_name(sheet)
        except BaseException as exc:
            # A Rust panic surfaces as pyo3's PanicException, a BaseException.
            if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
                raise
            raise ImportFileError(path, f"the workbook is damaged: {exc}") from None
        start = self._sheet.start
        self.first_column = start[1] if start else 0
        self._empty = start is None

    def merged_ranges(self) -> list[Merge]:
        return list(self._sheet.merged_cell_ranges or [])

    def estimated_rows(self, header_row: int) -> int | None:
        return max(self._max_row - header_row, 0)

    def raw_rows(self) -> Iterator[tuple[int, list[Any]]]:
        if self._empty:
            return
        errors = self._errors
        if not errors:
            yield from enumerate(self._sheet.iter_rows(), 1)
            return
        first = self.first_column
        values: list[Any]
        for number, values in enumerate(self._sheet.iter_rows(), 1):
            found = errors.get(number)
            if found is not None:
                for column, code in found:
                    if 0 <= column - first < len(values):
                        values[column - first] = ExcelError(code)  # type: ignore[call-overload]
            yield number, values

    def close(self) -> None:
        self._workbook.close()


def visible_sheets(path: Path, limits: ReadLimits) -> list[str]:
    """The names of the workbook's visible worksheets, in order."""
    zf = check_zip(path, limits)
    try:
        workbook = _read_workbook(path, zf)
    finally:
        zf.close()
    return [s.name for s in workbook.sheets if s.kind == "worksheet" and not s.hidden]


def open_xlsx(path: Path, *, sheet: str | int | None, limits: ReadLimits
              ) -> CalamineSource | StreamSource:
    """The source for one sheet of a workbook that has passed the zip checks."""
    zf = check_zip(path, limits)
    try:
        workbook = _read_workbook(path, zf)
        chosen = _choose(path, zf, workbook, sheet)
        if workbook.strings is not None:
            size = zf.getinfo(workbook.strings).file_size
            if size > limits.max_shared_strings_bytes:
                raise ImportFileError(
                    path, f"its shared-strings table is {size / _MIB:,.0f} MiB (limit "
                          f"{limits.max_shared_strings_bytes / _MIB:,.0f} MiB); save the sheet "
                          f"as CSV and import that")
        scan = _scan_sheet(path, zf, chosen.member, limits)
        cells = scan.max_row * (scan.max_column + 1)
        if not (scan.missing_refs or scan.too_wide or scan.long_text or scan.prefix
                or scan.errors_unsure or cells > limits.max_loaded_cells) and not (
                workbook.strings and _long_strings(path, zf, workbook.strings, limits)):
            zf.close()
            return CalamineSource(path, chosen.name, max_row=scan.max_row, errors=scan.errors)
        styles = date_styles(path, _read_part(path, zf, workbook.styles) if workbook.styles
                             else None)
        strings = shared_strings(path, zf, workbook.strings)
        merges = _merges(path, zf, chosen.member, scan.prefix)
        return StreamSource(path, zf, chosen.member, sheet=chosen.name, strings=strings,
                            styles=styles, date1904=workbook.date1904, prefix=scan.prefix,
                            merges=merges, max_row=scan.max_row, limits=limits)
    except BaseException:
        zf.close()
        raise
