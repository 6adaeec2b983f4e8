"""Spreadsheet readers: `open_table()` turns an .xlsx or .csv file into a `Table` of headers
and rows, streamed, with every bad file reported as an `ImportFileError` that names the file
and what is wrong with it.

    Table.rows() yields (row_number, values): row_number is the 1-based row a spreadsheet user
    sees; values has one item per header. CSV values are strings; XLSX values are str, float,
    bool, date, datetime, time, timedelta or ExcelError (a cell showing `#DIV/0!`, `#N/A`…:
    never read as blank). An empty cell is "" in both.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import date, time, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

from ._csv import CsvSource, column_letter
from ._safety import ImportFileError, ReadLimits, sniff_kind

__all__ = ["DEFAULT_LIMITS", "HEADER_SCAN_ROWS", "ImportFileError", "ReadLimits", "Table",
           "open_table", "sheet_names"]

HEADER_SCAN_ROWS = 20
DEFAULT_LIMITS = ReadLimits()
Merge = tuple[tuple[int, int], tuple[int, int]]


class _Source(Protocol):
    kind: str
    engine: str
    first_column: int

    def raw_rows(self) -> Iterator[tuple[int, list[Any]]]: ...
    def merged_ranges(self) -> list[Merge]: ...
    def estimated_rows(self, header_row: int) -> int | None: ...
    def close(self) -> None: ...


def open_table(path: Path | str, *, sheet: str | int | None = None,
               header_row: int | None = None, encoding: str | None = None,
               delimiter: str | None = None, limits: ReadLimits = DEFAULT_LIMITS) -> Table:
    """Open a spreadsheet for reading, whatever its name says: the first bytes decide.

    Args:
        path: an .xlsx workbook or a CSV file.
        sheet: xlsx: a sheet name, or its 0-based position; default the first visible sheet.
        header_row: the 1-based row that holds the headers; default the first of the first 20
            non-blank rows with at least two cells, at least half of them text.
        encoding: csv: the text encoding; default detected (BOM, else UTF-8, else GB18030).
        delimiter: csv: the field separator; default sniffed among `,` `;` tab `|`.
        limits: the bounds that protect memory and time from hostile or broken files.

    Raises:
        ImportFileError: the file cannot be read as a table; the message says why.
    """
    path = Path(path)
    source: _Source
    if sniff_kind(path) == "xlsx":
        from ._xlsx import open_xlsx

        source = open_xlsx(path, sheet=sheet, limits=limits)
    else:
        source = CsvSource(path, encoding=encoding, delimiter=delimiter, limits=limits)
    try:
        return Table(path, source, header_row=header_row)
    except BaseException:
        source.close()
        raise


def sheet_names(path: Path | str, limits: ReadLimits = DEFAULT_LIMITS) -> list[str]:
    """The visible worksheets of a workbook, in order (reads only its small parts)."""
    from ._xlsx import visible_sheets

    return visible_sheets(Path(path), limits)


class Table:
    """The headers and rows of one sheet or CSV file; a context manager. Each call of `rows()`
    reads the file again from the top, so memory stays flat however long the file is.

    Attributes:
        kind: "csv" or "xlsx", from the file's content.
        engine: what reads the rows: "csv", "calamine" (the sheet loaded whole, fast) or
            "stream" (parsed as it inflates: big or unusual sheets).
        encoding: csv: the codec the file was read with (e.g. "utf-8-sig", "gb18030").
        delimiter: csv: the field separator.
        sheet: xlsx: the sheet's name.
        headers: one name per column: stripped; blank cells under a merged header get its
            text, other blank ones `列D` (the column letter); duplicates become `名称 (2)`.
        header_row: the 1-based row the headers were read from.
        estimated_rows: about how many rows follow the headers (for a progress bar).
        is_empty: no data row under the headers.
    """

    kind: Literal["csv", "xlsx"]
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    engine: str
    headers: list[str]
    header_row: int
    estimated_rows: int | None

    def __init__(self, path: Path, source: _Source, *, header_row: int | None = None) -> None:
        self.path = path
        self._source = source
        self.kind = "xlsx" if source.kind == "xlsx" else "csv"
        self.encoding = getattr(source, "encoding", None)
        self.delimiter = getattr(source, "delimiter", None)
        self.sheet = getattr(source, "sheet", None)
        self.engine = source.engine
        self._find_headers(header_row)
        self.estimated_rows = source.estimated_rows(self.header_row)
        rows = self.rows()  # the first data row, read now: an error in it fails the open
        self._is_empty = next(rows, None) is None
        rows.close()

    # -- headers -----------------------------------------------------------------------

    def _find_headers(self, wanted: int | None) -> None:
        if wanted is not None and wanted < 1:
            raise ImportFileError(self.path, f"header_row counts from 1, not {wanted}")
        seen: list[tuple[int, list[Any]]] = []
        found: tuple[int, list[Any]] | None = None
        rows = self._source.raw_rows()
        try:
            for number, values in rows:
                if wanted is not None:
                    if number > wanted:
                        break
                    seen = [*seen[-HEADER_SCAN_ROWS:], (number, values)]
                    if number == wanted:
                        found = (number, values)
                        break
                    continue
                if _blank(values):
                    continue
                seen.append((number, values))
                if _looks_like_headers(values):
                    found = (number, values)
                    break
                if len(seen) >= HEADER_SCAN_ROWS:
                    break
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()
        if found is None and wanted is None:
            found = next(((n, v) for n, v in seen if _all_text(v)), None)
        if found is None or _blank(found[1]):
            raise self._no_headers(wanted, seen)
        self.header_row = found[0]
        self._shape(found[1], seen)

    def _no_headers(self, wanted: int | None, seen: list[tuple[int, list[Any]]]
                    ) -> ImportFileError:
        where = f"sheet {self.sheet!r}" if self.sheet is not None else "the file"
        if wanted is not None:
            return ImportFileError(self.path, f"header row {wanted} of {where} is empty",
                                   row=wanted)
        if not seen:
            return ImportFileError(self.path, f"{where} has no data: it is empty")
        return ImportFileError(
            self.path, f"found no header row in the first {HEADER_SCAN_ROWS} non-blank rows of "
                       f"{where} (a row of at least two cells, at least half of them text); "
                       f"say which row holds the headers")

    def _shape(self, values: list[Any], seen: list[tuple[int, list[Any]]]) -> None:
        first = self._source.first_column
        texts = [_header_text(v) for v in values]
        above = dict(seen)
        h0 = self.header_row - 1
        self._data_merges: list[Merge] = []
        for (r0, c0), (r1, c1) in self._source.merged_ranges():
            if r0 <= h0 <= r1:
                anchor = above.get(r0 + 1, [])
                at = c0 - first
                fill = _header_text(anchor[at]) if 0 <= at < len(anchor) else ""
                if fill:
                    if len(texts) <= c1 - first:
                        texts.extend([""] * (c1 - first + 1 - len(texts)))
                    for i in range(max(at, 0), c1 - first + 1):
                        if not texts[i]:
                            texts[i] = fill
            elif r0 > h0 and (r1 > r0 or c1 > c0):
                self._data_merges.append(((r0, c0), (r1, c1)))
        used = [i for i, t in enumerate(texts) if t]
        if not used:  # only blanks and spaces
            raise self._no_headers(self.header_row, seen)
        lo, hi = used[0], used[-1]
        names = [texts[i] or f"列{column_letter(first + i)}" for i in range(lo, hi + 1)]
        self.headers = _unique(names)
        self._lo, self._width = lo, len(names)
        self._data_merges.sort()

    # -- rows --------------------------------------------------------------------------

    def rows(self) -> Generator[tuple[int, list[Any]], None, None]:
        """`(row_number, values)` for every non-blank row under the header row, values padded
        or cut to one per header. Raises ImportFileError on a row past a limit."""
        header_row, lo, width = self.header_row, self._lo, self._width
        hi = lo + width
        padding = [""] * width
        merges = _MergeFill(self._data_merges, self._source.first_column + lo, width) \
            if self._data_merges else None
        rows = self._source.raw_rows()
        try:
            for number, values in rows:
                if number <= header_row:
                    continue
                if lo:
                    values = values[lo:hi]
                n = len(values)
                if n != width:
                    if n > width:
                        values = values[:width]
                    else:
                        values.extend(padding[n:])
                if merges is not None:
                    merges.fill(number, values)
                if values.count("") == width:
                    continue
                yield number, values
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()

    @property
    def is_empty(self) -> bool:
        """True when there is no data row under the headers (a header-only file)."""
        return self._is_empty

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f" sheet={self.sheet!r}" if self.sheet is not None else ""
        return (f"<Table {self.path.name!r} {self.kind}{where} header_row={self.header_row} "
                f"columns={len(self.headers)}>")


class _MergeFill:
    """Merged ranges below the headers: the top-left value shows in every cell of the range
    in Excel, so each row of the range gets it (a category merged down three rows)."""

    def __init__(self, merges: list[Merge], offset: int, width: int) -> None:
        # (first row, last row, first column, last column), 1-based rows, columns in `values`
        self._pending = [(r0 + 1, r1 + 1, c0 - offset, min(c1 - offset, width - 1))
                         for (r0, c0), (r1, c1) in merges if 0 <= c0 - offset < width]
        self._pending.reverse()
        self._active: list[tuple[int, int, int, Any]] = []

    def fill(self, number: int, values: list[Any]) -> None:
        pending, active = self._pending, self._active
        while pending and pending[-1][0] <= number:
            top, bottom, c0, c1 = pending.pop()
            if top == number and values[c0] != "":
                active.append((bottom, c0, c1, values[c0]))
        if not active:
            return
        for item in list(active):
            bottom, c0, c1, value = item
            if number > bottom:
                active.remove(item)
                continue
            for i in range(c0, c1 + 1):
                if values[i] == "":
                    values[i] = value


def _blank(values: list[Any]) -> bool:
    return values.count("") == len(values)


def _header_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip()


def _is_text(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    try:
        float(value.replace(",", ""))
    except ValueError:
        return True
    return False


def _filled(values: list[Any]) -> list[Any]:
    return [v for v in values if v != "" and not (isinstance(v, str) and not v.strip())]


def _looks_like_headers(values: list[Any]) -> bool:
    filled = _filled(values)
    return len(filled) >= 2 and 2 * sum(map(_is_text, filled)) >= len(filled)


def _all_text(values: list[Any]) -> bool:
    filled = _filled(values)
    return bool(filled) and all(map(_is_text, filled))


def _unique(names: list[str]) -> list[str]:
    """`名称`, `名称` -> `名称`, `名称 (2)`; never colliding with a header already present."""
    taken = set(names)
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            n = 2
            while f"{name} ({n})" in taken:
                n += 1
            name = f"{name} ({n})"
            taken.add(name)
        seen.add(name)
        out.append(name)
    return out
