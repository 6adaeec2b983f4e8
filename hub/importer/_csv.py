"""CSV sources: the encoding checked over the whole file before the first row is read (BOM,
else strict UTF-8, else GB18030), the delimiter sniffed, rows parsed by `csv.reader`."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ._safety import ImportFileError, ReadLimits

__all__ = ["CsvSource", "column_letter", "sniff_delimiter"]

_CHUNK = 1 << 20
_SAMPLE_CHARS = 1 << 16
_DELIMITERS = (",", "\t", ";", "|")
# (BOM, codec to open the file with, codec to scan the bytes after the BOM with)
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig", "utf-8"),
    (b"\xff\xfe", "utf-16", "utf-16-le"),
    (b"\xfe\xff", "utf-16", "utf-16-be"),
)
# Bytes that decoded as non-ASCII UTF-8 before the first invalid byte: past this much, the
# file is UTF-8 with damage in it, not GB18030 that happened to start like UTF-8.
_UTF8_EVIDENCE = 6


def column_letter(index: int) -> str:
    """`0` -> `A`, `26` -> `AA`: the column as a spreadsheet shows it."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True, slots=True)
class _BadBytes:
    offset: int
    line: int
    data: bytes


@dataclass(slots=True)
class _Scan:
    lines: int = 0
    sample: str = ""
    evidence: int = 0  # non-ASCII bytes that decoded fine before `bad`
    bad: _BadBytes | None = None


def _scan(path: Path, codec: str, *, skip: int, nul_is_binary: bool) -> _Scan:
    """Decode the whole file in chunks (constant memory), counting lines; stop at the first
    invalid bytes. NUL bytes mean a binary file."""
    result = _Scan()
    offset, carry, ends_open = skip, b"", False
    with path.open("rb") as f:
        f.seek(skip)
        while True:
            chunk = f.read(_CHUNK)
            last = not chunk
            buf = carry + chunk
            if nul_is_binary and b"\x00" in buf:
                at = offset + buf.index(b"\x00")
                raise ImportFileError(path, f"contains NUL bytes (at byte offset {at:,}): it is "
                                            "a binary file, not CSV text")
            try:
                text, carry = buf.decode(codec), b""
            except UnicodeDecodeError as exc:
                text = buf[: exc.start].decode(codec)
                if exc.end == len(buf) and exc.start >= len(buf) - 4 and not last:
                    carry = buf[exc.start:]  # a character split across two chunks
                else:
                    result.evidence += exc.start - len(text)
                    result.bad = _BadBytes(offset + exc.start,
                                           result.lines + text.count("\n") + 1,
                                           buf[exc.start: exc.end])
                    return result
            result.evidence += len(buf) - len(carry) - len(text)
            result.lines += text.count("\n")
            if text:
                ends_open = not text.endswith("\n")
            if len(result.sample) < _SAMPLE_CHARS:
                result.sample += text[: _SAMPLE_CHARS - len(result.sample)]
            offset += len(buf) - len(carry)
            if last:
                result.lines += ends_open  # a last line without a line break
                return result


def _invalid(path: Path, label: str, bad: _BadBytes) -> ImportFileError:
    return ImportFileError(
        path, f"is not valid {label} text: invalid byte(s) {bad.data.hex(' ').upper()} at line "
              f"{bad.line:,} (byte offset {bad.offset:,}); fix the file or pass its encoding",
        row=bad.line)


def _detect(path: Path, encoding: str | None) -> tuple[str, _Scan]:
    """The codec to open the file with, and the scan that proved it decodes."""
    with path.open("rb") as f:
        head = f.read(4)
    bom = next(((b, o, s) for b, o, s in _BOMS if head.startswith(b)), None)
    if encoding is not None:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise ImportFileError(path, f"unknown encoding {encoding!r}") from None
        if bom is not None and name.replace("_", "-") in {"utf-8", "utf-8-sig", "utf-16"}:
            open_codec, scan_codec, skip = bom[1], bom[2], len(bom[0])
        else:
            open_codec, scan_codec, skip = encoding, encoding, 0
        scan = _scan(path, scan_codec, skip=skip, nul_is_binary="16" not in name)
        if scan.bad is not None:
            raise _invalid(path, encoding, scan.bad)
        return open_codec, scan
    if bom is not None:
        scan = _scan(path, bom[2], skip=len(bom[0]), nul_is_binary=bom[1] != "utf-16")
        if scan.bad is not None:
            raise _invalid(path, "UTF-8" if bom[1] == "utf-8-sig" else "UTF-16", scan.bad)
        return bom[1], scan
    scan = _scan(path, "utf-8", skip=0, nul_is_binary=True)
    if scan.bad is None:
        return "utf-8", scan
    if scan.evidence >= _UTF8_EVIDENCE:
        raise _invalid(path, "UTF-8", scan.bad)
    gb = _scan(path, "gb18030", skip=0, nul_is_binary=True)
    if gb.bad is None:
        return "gb18030", gb
    bad = scan.bad
    raise ImportFileError(
        path, f"is neither UTF-8 (invalid byte(s) {bad.data.hex(' ').upper()} at line "
              f"{bad.line:,}, byte offset {bad.offset:,}) nor GB18030 text; pass its encoding",
        row=bad.line)


def sniff_delimiter(sample: str) -> str:
    """The candidate that splits the sample's records into the most consistent number (>= 2)
    of fields; `,` when none does (a one-column file)."""
    text = sample[: sample.rfind("\n") + 1] or sample
    best, best_score = ",", (0.0, 0, 0)
    for order, delimiter in enumerate(_DELIMITERS):
        widths = [len(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r]
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        score = (count / len(widths), width, -order)
        if width >= 2 and score > best_score:
            best, best_score = delimiter, score
    return best


class CsvSource:
    """Records of a CSV file as `(record number, fields)`, every pass a fresh read."""

    kind = "csv"
    engine = "csv"
    sheet: str | None = None
    first_column = 0

    def __init__(self, path: Path, *, encoding: str | None, delimiter: str | None,
                 limits: ReadLimits) -> None:
        self.path = path
        self.limits = limits
        self.encoding, scan = _detect(path, encoding)
        if delimiter is not None and len(delimiter) != 1:
            raise ImportFileError(path, f"the delimiter must be one character, not {delimiter!r}")
        self.delimiter = delimiter or sniff_delimiter(scan.sample)
        self.lines = scan.lines

    def merged_ranges(self) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        return []

    def estimated_rows(self, header_row: int) -> int | None:
        return max(self.lines - header_row, 0)

    def raw_rows(self) -> Iterator[tuple[int, list[str]]]:
        limits, path = self.limits, self.path
        max_line, max_cell, max_columns = (limits.max_line_chars, limits.max_cell_chars,
                                           limits.max_columns)
        with path.open(encoding=self.encoding, newline="") as f:
            long_line = [False]

            def lines() -> Iterator[str]:
                readline = f.readline
                while line := readline(max_line + 1):
                    if len(line) > max_cell:
                        if len(line) > max_line:
                            raise ImportFileError(
                                path, f"line {reader.line_num + 1:,} is longer than "
                                      f"{max_line:,} characters", row=reader.line_num + 1)
                        long_line[0] = True
                    yield line

            reader = csv.reader(lines(), delimiter=self.delimiter)
            number, previous_line = 0, 0
            try:
                for row in reader:
                    number += 1
                    line_num = reader.line_num
                    if line_num - previous_line != 1 or long_line[0]:
                        # Only a record spanning lines, or on a long one, can hold a long cell.
                        _check_cells(path, number, row, max_cell)
                        long_line[0] = False
                    previous_line = line_num
                    if len(row) > max_columns:
                        raise ImportFileError(
                            path, f"row {number:,} has {len(row):,} columns "
                                  f"(limit {max_columns:,})", row=number)
                    yield number, row
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    raise ImportFileError(
                        path, f"row {number + 1:,}: a cell has more than "
                              f"{csv.field_size_limit():,} characters (limit {max_cell:,})",
                        row=number + 1) from None
                raise ImportFileError(path, f"row {number + 1:,} (line {reader.line_num:,}) "
                                            f"is not valid CSV: {exc}", row=number + 1) from None
            except UnicodeDecodeError as exc:  # the file changed since it was checked
                raise ImportFileError(path, f"stopped decoding as {self.encoding}: {exc.reason}"
                                      ) from None

    def close(self) -> None:
        return None


def _check_cells(path: Path, number: int, row: list[str], max_cell: int) -> None:
    for index, value in enumerate(row):
        if len(value) > max_cell:
            raise ImportFileError(
                path, f"row {number:,}, column {column_letter(index)}: the cell has "
                      f"{len(value):,} characters (limit {max_cell:,})",
                row=number, column=column_letter(index))
