"""A streaming reader for one worksheet part (expat, constant memory), giving the same values
python-calamine gives: numbers as floats, date-formatted numbers as date / datetime / time,
duration formats as timedelta, booleans, strings; blanks as ''; error cells (`t="e"`) as
ExcelError, which `_xlsx` adds to what python-calamine gives (it gives them as '')."""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from xml.parsers import expat

from hub.core.cells import ExcelError

from ._csv import column_letter
from ._safety import ImportFileError, ReadLimits

__all__ = ["DATETIME", "TIMEDELTA", "StreamSource", "date_styles", "excel_date", "format_kind",
           "shared_strings"]

OTHER, DATETIME, TIMEDELTA = 0, 1, 2
_CHUNK = 1 << 16
_EPOCH = datetime(1899, 12, 30)
_MS_PER_DAY = 86_400_000
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_BUILTIN_KINDS = {**dict.fromkeys(range(14, 23), DATETIME), 45: DATETIME, 47: DATETIME,
                  46: TIMEDELTA}


def format_kind(code: str) -> int:
    """Whether a number format shows a date/time, a duration (`[h]:mm`), or neither; the same
    rule python-calamine applies: the first section only, ignoring quoted, escaped and
    bracketed text, with `a`/`A` starting an AM/PM marker (so `General` is no date)."""
    escaped = quoted = ampm = hms = False
    brackets, previous = 0, " "
    for ch in code:
        if escaped:
            escaped = False
        elif ch in "_\\*":
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == ";":
            return OTHER
        elif ch == "[":
            brackets += 1
        elif ch == "]":
            if brackets == 1 and hms:
                return TIMEDELTA
            brackets = max(brackets - 1, 0)
        elif brackets == 0 and not ampm and ch in "aA":
            ampm = True
        elif brackets == 0 and ampm and ch in "pmPM/":
            return DATETIME
        elif brackets == 0 and not ampm and ch in "dmhysDMHYS":
            return DATETIME
        elif not (hms and ch.lower() == previous.lower()):
            hms = previous == "[" and ch in "mhsMHS"
        previous = ch
    return OTHER


def _round_half_away(value: float) -> int:
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


def excel_date(value: float, kind: int, date1904: bool) -> Any:
    """A serial number shown with a date or duration format, as python-calamine returns it:
    timedelta for durations; time below 1.0; date when whole; else datetime (ms precision)."""
    if kind == TIMEDELTA:
        return timedelta(milliseconds=_round_half_away(value * _MS_PER_DAY))
    days = value + 1462 if date1904 else value
    if days < 60:
        days += 1  # Excel counts a 29 February 1900 that never was
    try:
        moment = _EPOCH + timedelta(milliseconds=_round_half_away(days * _MS_PER_DAY))
    except OverflowError:
        return value
    if value < 1.0:
        return moment.time()
    if value == int(value):
        return moment.date()
    return moment


def _unescape(text: str) -> str:
    """OOXML writes control characters as `_xHHHH_` (`_x000D_` for a carriage return)."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _parser(path: Path, part: str) -> expat.XMLParserType:
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = _CHUNK

    def no_dtd(*_: Any) -> None:
        raise ImportFileError(path, f"{part} declares a DTD, which no Excel file does")

    parser.StartDoctypeDeclHandler = no_dtd
    return parser


def _feed(path: Path, zf: zipfile.ZipFile, member: str, parser: expat.XMLParserType,
          ) -> Generator[None, None, None]:
    """Feed a zip member to `parser` chunk by chunk, yielding after each chunk."""
    try:
        with zf.open(member) as f:
            while chunk := f.read(_CHUNK):
                parser.Parse(chunk, False)
                yield
            parser.Parse(b"", True)
            yield
    except expat.ExpatError as exc:
        raise ImportFileError(path, f"the workbook is damaged: {member} is not well-formed XML "
                                    f"({expat.ErrorString(exc.code)} at line {exc.lineno})"
                              ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ImportFileError(path, f"the workbook is damaged: cannot inflate {member} ({exc})"
                              ) from None


def shared_strings(path: Path, zf: zipfile.ZipFile, member: str | None) -> list[str]:
    """The shared-strings table: each item's text runs joined, phonetic runs left out."""
    strings: list[str] = []
    if member is None:
        return strings
    parts: list[str] = []
    depth = {"t": False, "rPh": False}
    si, t, rph = "si", "t", "rPh"

    def start(name: str, _: dict[str, str]) -> None:
        name = name.rpartition(":")[2]
        if name == t:
            depth["t"] = True
        elif name == rph:
            depth["rPh"] = True
        elif name == si:
            parts.clear()

    def end(name: str) -> None:
        name = name.rpartition(":")[2]
        if name == t:
            depth["t"] = False
        elif name == rph:
            depth["rPh"] = False
        elif name == si:
            strings.append(_unescape("".join(parts)))

    def text(data: str) -> None:
        if depth["t"] and not depth["rPh"]:
            parts.append(data)

    parser = _parser(path, member)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    with closing(_feed(path, zf, member, parser)) as chunks:
        for _ in chunks:
            pass
    return strings


def date_styles(path: Path, styles_xml: bytes | None) -> dict[str, int]:
    """Cell style index (the `s` attribute, as text) -> DATETIME or TIMEDELTA, for the styles
    whose number format shows a date or a duration."""
    if not styles_xml:
        return {}
    import xml.etree.ElementTree as ET  # a small part, parsed whole

    try:
        root = ET.fromstring(styles_xml)
    except ET.ParseError as exc:
        raise ImportFileError(path, f"the workbook is damaged: its styles are not well-formed "
                                    f"XML ({exc})") from None
    custom: dict[int, int] = {}
    kinds: dict[str, int] = {}
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        number_format = element.get("numFmtId", "")
        if tag == "numFmt" and number_format.isascii() and number_format.isdigit():
            custom[int(number_format)] = format_kind(element.get("formatCode", ""))
    for element in root:
        if element.tag.rsplit("}", 1)[-1] != "cellXfs":
            continue
        for index, xf in enumerate(element):
            number_format = xf.get("numFmtId", "0")
            if not (number_format.isascii() and number_format.isdigit()):
                continue
            kind = custom.get(int(number_format), _BUILTIN_KINDS.get(int(number_format), OTHER))
            if kind:
                kinds[str(index)] = kind
    return kinds


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def column_index(letters: str) -> int:
    """`A` -> 0, `AA` -> 26."""
    index = 0
    for ch in letters:
        index = index * 26 + _LETTERS.index(ch) + 1
    return index - 1


class StreamSource:
    """Rows of one worksheet part, parsed as the zip member inflates; every pass is a fresh
    parse, and memory does not grow with the sheet (the shared strings are held, bounded by
    ReadLimits.max_shared_strings_bytes)."""

    kind = "xlsx"
    engine = "stream"
    first_column = 0

    def __init__(self, path: Path, zf: zipfile.ZipFile, member: str, *, sheet: str,
                 strings: list[str], styles: dict[str, int], date1904: bool, prefix: str,
                 merges: list[tuple[tuple[int, int], tuple[int, int]]], max_row: int,
                 limits: ReadLimits) -> None:
        self.path, self.sheet, self.limits = path, sheet, limits
        self._zf, self._member, self._prefix = zf, member, prefix
        self._strings, self._styles, self._date1904 = strings, styles, date1904
        self._merges, self._max_row = merges, max_row
        self._long = {i for i, s in enumerate(strings) if len(s) > limits.max_cell_chars}

    def merged_ranges(self) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        return self._merges

    def estimated_rows(self, header_row: int) -> int | None:
        return max(self._max_row - header_row, 0)

    def raw_rows(self) -> Iterator[tuple[int, list[Any]]]:
        parser, pending = self._row_parser()
        with closing(_feed(self.path, self._zf, self._member, parser)) as chunks:
            for _ in chunks:
                if pending:
                    yield from pending
                    pending.clear()

    def close(self) -> None:
        self._zf.close()

    def _row_parser(self) -> tuple[expat.XMLParserType, list[tuple[int, list[Any]]]]:
        rows = _SheetRows(self)
        parser = _parser(self.path, self._member)
        parser.StartElementHandler = rows.start
        parser.EndElementHandler = rows.end
        parser.CharacterDataHandler = rows.text
        return parser, rows.pending


class _SheetRows:
    """The expat handlers of a worksheet: each cell placed at its column and its value
    converted as python-calamine converts it; each row with a value joins `pending`."""

    __slots__ = ("collect", "column", "columns", "date1904", "inline", "kind", "long_strings",
                 "max_cell", "max_columns", "n_c", "n_is", "n_row", "n_rph", "n_t", "n_v",
                 "number", "parts", "path", "pending", "phonetic", "row", "strings", "style",
                 "styles")

    def __init__(self, source: StreamSource) -> None:
        p = source._prefix
        self.path, self.strings, self.styles = source.path, source._strings, source._styles
        self.date1904, self.long_strings = source._date1904, source._long
        self.max_columns = source.limits.max_columns
        self.max_cell = source.limits.max_cell_chars
        self.n_row, self.n_c, self.n_v, self.n_t, self.n_is, self.n_rph = (
            p + "row", p + "c", p + "v", p + "t", p + "is", p + "rPh")
        self.pending: list[tuple[int, list[Any]]] = []
        self.parts: list[str] = []
        self.columns: dict[str, int] = {}
        self.row: list[Any] = []
        self.number, self.column = 0, -1
        self.kind: str | None = None
        self.style: str | None = None
        self.collect = self.inline = self.phonetic = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == self.n_c:
            ref = attrs.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                found = self.columns.get(letters)
                if found is None:
                    found = self.columns[letters] = column_index(letters)
                self.column = found
            else:
                self.column += 1
            self.kind = attrs.get("t")
            self.style = attrs.get("s")
            self.parts.clear()
        elif name == self.n_v:
            self.collect = True
        elif name == self.n_t:
            self.collect = self.inline and not self.phonetic
        elif name == self.n_row:
            ref = attrs.get("r")
            self.number = int(ref) if ref else self.number + 1
            self.column = -1
            self.row = []
        elif name == self.n_is:
            self.inline = True
        elif name == self.n_rph:
            self.phonetic = True

    def end(self, name: str) -> None:
        if name == self.n_c:
            self._place(self._convert())
        elif name == self.n_v or name == self.n_t:
            self.collect = False
        elif name == self.n_row:
            if self.row:
                self.pending.append((self.number, self.row))
        elif name == self.n_is:
            self.inline = False
        elif name == self.n_rph:
            self.phonetic = False

    def text(self, data: str) -> None:
        if self.collect:
            self.parts.append(data)

    def _place(self, value: Any) -> None:
        if value == "" and type(value) is str:
            return
        column, row = self.column, self.row
        if column >= self.max_columns:
            raise ImportFileError(
                self.path, f"row {self.number:,} has a value in column "
                           f"{column_letter(column)}, which makes {column + 1:,} columns "
                           f"(limit {self.max_columns:,})",
                row=self.number, column=column_letter(column))
        width = len(row)
        if column == width:
            row.append(value)
        elif column > width:
            row.extend([""] * (column - width))
            row.append(value)
        else:
            row[column] = value

    def _convert(self) -> Any:
        parts, kind = self.parts, self.kind
        raw = parts[0] if len(parts) == 1 else "".join(parts)
        if kind is None or kind == "n":
            if not raw:
                return ""
            try:
                value = float(raw)
            except ValueError:
                return raw
            shown_as = self.styles.get(self.style) if self.style else None
            return excel_date(value, shown_as, self.date1904) if shown_as else value
        if kind == "s":
            return self._shared_string(raw)
        if kind == "inlineStr" or kind == "str":
            if len(raw) > self.max_cell:
                self._too_long(len(raw))
            return _unescape(raw)
        if kind == "b":
            return raw in ("1", "true")
        if kind == "d":
            return _iso_date(raw)
        return ExcelError(raw) if raw else ""  # "e": an error such as #DIV/0!

    def _shared_string(self, raw: str) -> str:
        try:
            index = int(raw)
        except ValueError:
            return ""
        strings = self.strings
        if self.long_strings and index in self.long_strings:
            self._too_long(len(strings[index]))
        return strings[index] if 0 <= index < len(strings) else ""

    def _too_long(self, length: int) -> None:
        letter = column_letter(self.column)
        raise ImportFileError(self.path, f"row {self.number:,}, column {letter}: the cell has "
                                         f"{length:,} characters (limit {self.max_cell:,})",
                              row=self.number, column=letter)


def _iso_date(raw: str) -> Any:
    """A `t="d"` cell (ISO 8601 text, written by a few non-Excel tools)."""
    parse: Callable[[str], Any]
    for parse in (date.fromisoformat, datetime.fromisoformat, time.fromisoformat):
        try:
            return parse(raw)
        except ValueError:
            continue
    return raw
