"""What a file really is (by its first bytes, not its name), and the zip checks that run from
the central directory before any XML is inflated: member count, total size, compression ratio."""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hub.errors import InvalidRequestError

__all__ = ["ImportFileError", "ReadLimits", "check_zip", "sniff_kind"]

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_MIB = 1 << 20
# A member this small cannot hurt whatever its ratio (tiny XML parts compress well).
_RATIO_EXEMPT_BYTES = _MIB
# Files other formats start with, so a renamed file gets a message that says what it is.
_OTHER_FORMATS = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
)
_XLSX_SUFFIXES = {".xlsx", ".xlsm", ".xltx", ".xltm"}


class ImportFileError(InvalidRequestError):
    """A file that cannot be imported as given; the message names the file and what is wrong
    (and the row and column when one is to blame)."""

    def __init__(self, path: Path | str, message: str, *, row: int | None = None,
                 column: str | None = None) -> None:
        self.file = Path(path).name
        self.row = row
        self.column = column
        self.reason = message
        super().__init__(f"{self.file}: {message}")


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Bounds that keep a hostile or broken file from eating memory or time.

    Attributes:
        max_total_uncompressed: xlsx: the sum of the members' uncompressed sizes, from the zip
            central directory, checked before anything is inflated.
        max_compression_ratio: xlsx: uncompressed / compressed size of any member over 1 MiB.
        max_zip_members: xlsx: members in the archive (a workbook has a few dozen).
        max_columns: columns in any row (counted to the last cell that is present).
        max_cell_chars: characters in one cell (Excel's own limit is 32,767).
        max_line_chars: csv: characters on one physical line.
        max_shared_strings_bytes: xlsx: the shared-strings part, which every reader holds in
            memory whole.
        max_loaded_cells: xlsx: sheets whose used range (rows x columns) is at most this are
            loaded whole by python-calamine (fast, ~90 bytes a cell); larger or unusual ones are
            streamed instead (slower, constant memory). Not a rejection limit.
    """

    max_total_uncompressed: int = 2 << 30
    max_compression_ratio: float = 100.0
    max_zip_members: int = 10_000
    max_columns: int = 1024
    max_cell_chars: int = 32_767
    max_line_chars: int = 8 * _MIB
    max_shared_strings_bytes: int = 128 * _MIB
    max_loaded_cells: int = 2_500_000


def sniff_kind(path: Path) -> Literal["csv", "xlsx"]:
    """Which reader a file needs, from its first bytes; anything else is an ImportFileError."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise ImportFileError(path, "file not found") from None
    except IsADirectoryError:
        raise ImportFileError(path, "is a directory, not a file") from None
    if size == 0:
        raise ImportFileError(path, "the file is empty")
    if head.startswith(_ZIP_MAGICS):
        return "xlsx"
    if head.startswith(OLE2_MAGIC):
        raise ImportFileError(path, describe_ole2(path))
    for magic, what in _OTHER_FORMATS:
        if head.startswith(magic):
            raise ImportFileError(path, f"is {what}, not a spreadsheet")
    if path.suffix.lower() in _XLSX_SUFFIXES:
        raise ImportFileError(path, "is not a valid .xlsx workbook (it is not a zip archive); "
                                    "was it renamed from another format?")
    return "csv"


def check_zip(path: Path, limits: ReadLimits) -> zipfile.ZipFile:
    """Open an xlsx as a zip after checking, from its directory alone, that inflating it is
    safe and that it is an Excel workbook. The caller closes the returned ZipFile."""
    entries = _central_directory_entries(path)
    if entries is not None and entries > limits.max_zip_members:
        raise ImportFileError(path, f"the zip archive has {entries:,} members; an Excel "
                                    f"workbook has far fewer (limit {limits.max_zip_members:,})")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, struct.error, EOFError) as exc:
        raise ImportFileError(path, f"is a corrupt zip archive, not a readable .xlsx ({exc})") \
            from None
    try:
        _check_members(path, zf, limits)
    except BaseException:
        zf.close()
        raise
    return zf


def _check_members(path: Path, zf: zipfile.ZipFile, limits: ReadLimits) -> None:
    infos = zf.infolist()
    if len(infos) > limits.max_zip_members:
        raise ImportFileError(path, f"the zip archive has {len(infos):,} members "
                                    f"(limit {limits.max_zip_members:,})")
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_EXEMPT_BYTES and ratio > limits.max_compression_ratio:
            raise ImportFileError(
                path, f"looks like a zip bomb: member {info.filename!r} inflates "
                      f"{ratio:,.0f}x to {info.file_size / _MIB:,.0f} MiB "
                      f"(limit {limits.max_compression_ratio:,.0f}x)")
        if info.flag_bits & 0x1:
            raise ImportFileError(path, "is an encrypted zip archive, not an Excel workbook")
    if total > limits.max_total_uncompressed:
        raise ImportFileError(
            path, f"looks like a zip bomb: it inflates to {total / _MIB:,.0f} MiB "
                  f"(limit {limits.max_total_uncompressed / _MIB:,.0f} MiB)")
    names = set(zf.namelist())
    if "xl/workbook.xml" in names:
        return
    if "xl/workbook.bin" in names:
        raise ImportFileError(path, "is a binary workbook (.xlsb); save it as .xlsx")
    if "mimetype" in names and b"opendocument" in _head(zf, "mimetype"):
        raise ImportFileError(path, "is an OpenDocument file; save it as .xlsx")
    if "word/document.xml" in names:
        raise ImportFileError(path, "is a Word document, not a spreadsheet")
    if "[Content_Types].xml" not in names:
        raise ImportFileError(path, "is a zip archive, not an Excel workbook "
                                    "(no [Content_Types].xml)")
    raise ImportFileError(path, "is an Office file but not an Excel workbook "
                                "(no xl/workbook.xml)")


def _head(zf: zipfile.ZipFile, name: str) -> bytes:
    with zf.open(name) as member:
        return member.read(100)


def _central_directory_entries(path: Path) -> int | None:
    """The entry count from the end-of-central-directory record, read before zipfile builds
    an object per entry; None when the record is not found (zipfile then reports it)."""
    with path.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - (1 << 16) - 22))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    entries: int = struct.unpack_from("<H", tail, at + 10)[0]
    return 1 << 32 if entries == 0xFFFF else entries  # zip64 counts: no workbook needs them


def describe_ole2(path: Path) -> str:
    """What an OLE2 compound file (magic D0 CF 11 E0) holds: an encrypted (password-protected)
    Office file, a legacy .xls workbook, or something else; read from its directory."""
    names = _ole2_stream_names(path)
    if names & {"EncryptedPackage", "EncryptionInfo"}:
        return "is a password-protected workbook; remove the password in Excel and save again"
    if names & {"Workbook", "Book"}:
        return "is a legacy .xls workbook; open it in Excel and save it as .xlsx"
    if "WordDocument" in names:
        return "is a legacy Word document, not a spreadsheet"
    return ("is a password-protected workbook or a legacy .xls file (OLE2 compound file); "
            "remove the password or save it as .xlsx")


def _ole2_stream_names(path: Path, *, max_sectors: int = 4096) -> set[str]:
    """Names in a compound file's directory, following its sector chain through the FAT;
    a damaged file yields what could be read (possibly nothing), never an exception."""
    names: set[str] = set()
    try:
        with path.open("rb") as f:
            header = f.read(512)
            shift = struct.unpack_from("<H", header, 0x1E)[0]
            if len(header) < 512 or not 9 <= shift <= 12:
                return names
            sector_size = 1 << shift
            fat_count, first_dir = struct.unpack_from("<II", header, 0x2C)
            difat = struct.unpack_from("<109I", header, 0x4C)[: min(fat_count, 109)]

            def read_sector(index: int) -> bytes:
                f.seek((index + 1) * sector_size)
                return f.read(sector_size)

            fat: list[int] = []
            for sector in difat:
                data = read_sector(sector)
                fat.extend(struct.unpack(f"<{len(data) // 4}I", data[: len(data) // 4 * 4]))
            sector, seen = first_dir, 0
            while sector < 0xFFFFFFFA and seen < max_sectors:
                data = read_sector(sector)
                for at in range(0, len(data) - 127, 128):
                    length = struct.unpack_from("<H", data, at + 0x40)[0]
                    if 2 <= length <= 64:
                        names.add(data[at: at + length - 2].decode("utf-16-le", "replace"))
                seen += 1
                sector = fat[sector] if sector < len(fat) else 0xFFFFFFFE
    except (OSError, struct.error):
        return names
    return names
