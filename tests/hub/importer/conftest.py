"""Builders of real spreadsheet files in the test's folder.

`raw_xlsx(name, sheets, ...)` writes an .xlsx from literal worksheet XML, for what openpyxl
cannot write (formula cells with cached values, shared strings with rich text, cells without
references, far-away sparse cells, 16,000-column rows). `write_xlsx(name, rows, ...)` writes one
with openpyxl. `compound_file(name, streams)` writes an OLE2 compound file (what Excel makes of
a password-protected workbook, and what a legacy .xls is). `engine` runs a test once with
python-calamine and once with the streaming reader.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest

from hub.importer import ReadLimits

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
CT_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml"

RawXlsx = Callable[..., Path]
WriteXlsx = Callable[..., Path]


def sheet_xml(rows: str, *, merges: Sequence[str] = (), prefix: str = "") -> str:
    """A worksheet part around literal `<row>` elements."""
    p = f"{prefix}:" if prefix else ""
    ns = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    merged = ""
    if merges:
        merged = (f'<{p}mergeCells count="{len(merges)}">'
                  + "".join(f'<{p}mergeCell ref="{m}"/>' for m in merges) + f"</{p}mergeCells>")
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{p}worksheet {ns}>'
            f"<{p}sheetData>{rows}</{p}sheetData>{merged}</{p}worksheet>")


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def number(ref: str, value: float | str, style: int | None = None) -> str:
    s = f' s="{style}"' if style is not None else ""
    return f'<c r="{ref}"{s}><v>{value}</v></c>'


def styles_xml(formats: Sequence[int | str]) -> str:
    """cellXfs with one xf per item: an int is a built-in numFmtId, a str a custom code."""
    custom: dict[str, int] = {}
    ids = []
    for item in formats:
        if isinstance(item, str):
            ids.append(custom.setdefault(item, 164 + len(custom)))
        else:
            ids.append(item)
    num_fmts = "".join(f'<numFmt numFmtId="{i}" formatCode={quoteattr(code)}/>'
                       for code, i in custom.items())
    xfs = "".join(f'<xf numFmtId="{i}" fontId="0" fillId="0" borderId="0" applyNumberFormat="1"/>'
                  for i in [0, *ids])
    return (f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}">'
            f'<numFmts count="{len(custom)}">{num_fmts}</numFmts>'
            f'<fonts count="1"><font><sz val="11"/></font></fonts>'
            f'<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            f'<borders count="1"><border/></borders>'
            f'<cellXfs count="{len(ids) + 1}">{xfs}</cellXfs></styleSheet>')


def build_xlsx(path: Path, sheets: Sequence[tuple[str, str]], *, strings: str | None = None,
               styles: str | None = None, date1904: bool = False,
               hidden: Sequence[str] = ()) -> Path:
    """An .xlsx from (sheet name, worksheet XML) pairs; `strings` is a whole shared-strings
    part. Style index 0 is General; styles made by `styles_xml` start at index 1."""
    overrides = [f'<Override PartName="/xl/workbook.xml" ContentType="{CT_MAIN}.sheet.main+xml"/>']
    rels = []
    entries = []
    for i, (name, _) in enumerate(sheets, 1):
        overrides.append(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                         f'ContentType="{CT_MAIN}.worksheet+xml"/>')
        rels.append(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" '
                    f'Target="worksheets/sheet{i}.xml"/>')
        state = ' state="hidden"' if name in hidden else ""
        entries.append(f'<sheet name={quoteattr(name)} sheetId="{i}"{state} r:id="rId{i}"/>')
    extra = len(sheets)
    if strings is not None:
        extra += 1
        rels.append(f'<Relationship Id="rId{extra}" Type="{REL}/sharedStrings" '
                    f'Target="sharedStrings.xml"/>')
        overrides.append(f'<Override PartName="/xl/sharedStrings.xml" '
                         f'ContentType="{CT_MAIN}.sharedStrings+xml"/>')
    if styles is not None:
        extra += 1
        rels.append(f'<Relationship Id="rId{extra}" Type="{REL}/styles" Target="styles.xml"/>')
        overrides.append(f'<Override PartName="/xl/styles.xml" '
                         f'ContentType="{CT_MAIN}.styles+xml"/>')
    pr = '<workbookPr date1904="1"/>' if date1904 else "<workbookPr/>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{CT}">'
                   f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                   f'package.relationships+xml"/><Default Extension="xml" '
                   f'ContentType="application/xml"/>{"".join(overrides)}</Types>')
        z.writestr("_rels/.rels",
                   f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
                   f'<Relationship Id="rId1" Type="{REL}/officeDocument" '
                   f'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml",
                   f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" '
                   f'xmlns:r="{REL}">{pr}<sheets>{"".join(entries)}</sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
                   f'{"".join(rels)}</Relationships>')
        for i, (_, xml) in enumerate(sheets, 1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", xml)
        if strings is not None:
            z.writestr("xl/sharedStrings.xml", strings)
        if styles is not None:
            z.writestr("xl/styles.xml", styles)
    return path


def shared_strings_xml(items: Sequence[str]) -> str:
    """A shared-strings part from literal `<si>` contents (e.g. `<t>客户</t>`)."""
    body = "".join(f"<si>{item}</si>" for item in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{len(items)}" '
            f'uniqueCount="{len(items)}">{body}</sst>')


def compound_file(path: Path, streams: Sequence[str]) -> Path:
    """A minimal OLE2 compound file (version 3, 512-byte sectors): sector 0 holds the FAT,
    the directory follows, one 128-byte entry per name after the root entry."""
    names = ["Root Entry", *streams]
    dir_sectors = (len(names) + 3) // 4
    fat = [0xFFFFFFFD]  # sector 0: the FAT itself
    for i in range(dir_sectors):
        fat.append(i + 2 if i + 1 < dir_sectors else 0xFFFFFFFE)
    fat += [0xFFFFFFFF] * (128 - len(fat))
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 0x28, 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE)
    struct.pack_into("<I", header, 0x48, 0)  # no DIFAT sectors
    struct.pack_into("<109I", header, 0x4C, 0, *([0xFFFFFFFF] * 108))
    directory = bytearray(512 * dir_sectors)
    for i, name in enumerate(names):
        at = i * 128
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        directory[at: at + len(encoded)] = encoded
        struct.pack_into("<HBB", directory, at + 0x40, len(encoded), 5 if i == 0 else 2, 1)
        struct.pack_into("<III", directory, at + 0x44, 0xFFFFFFFF, 0xFFFFFFFF,
                         1 if i == 0 and len(names) > 1 else 0xFFFFFFFF)
    path.write_bytes(bytes(header) + struct.pack("<128I", *fat) + bytes(directory)
                     + b"\x00" * 1024)
    return path


@pytest.fixture
def raw_xlsx(tmp_path: Path) -> RawXlsx:
    def make(name: str, sheets: Sequence[tuple[str, str]] | str, **options: Any) -> Path:
        if isinstance(sheets, str):
            sheets = [("Sheet1", sheets)]
        return build_xlsx(tmp_path / name, sheets, **options)

    return make


@pytest.fixture
def write_xlsx(tmp_path: Path) -> WriteXlsx:
    """`write_xlsx(name, rows, merges=(), formats={}, sheet="Sheet1", more_sheets={})`:
    an .xlsx written by openpyxl; `formats` maps a cell (e.g. "B2") to a number format."""

    def make(name: str, rows: Sequence[Sequence[Any]], *, merges: Sequence[str] = (),
             formats: dict[str, str] | None = None, sheet: str = "Sheet1",
             more_sheets: dict[str, Sequence[Sequence[Any]]] | None = None,
             hidden: Sequence[str] = ()) -> Path:
        from openpyxl import Workbook

        workbook = Workbook()
        worksheet = workbook.active
        assert worksheet is not None
        worksheet.title = sheet
        for row in rows:
            worksheet.append(list(row))
        for ref, code in (formats or {}).items():
            worksheet[ref].number_format = code
        for ref in merges:
            worksheet.merge_cells(ref)
        for title, more in (more_sheets or {}).items():
            other = workbook.create_sheet(title)
            for row in more:
                other.append(list(row))
        for title in hidden:
            workbook[title].sheet_state = "hidden"
        path = tmp_path / name
        workbook.save(path)
        return path

    return make


@pytest.fixture
def make_compound_file(tmp_path: Path) -> Callable[[str, Sequence[str]], Path]:
    return lambda name, streams: compound_file(tmp_path / name, streams)


@pytest.fixture(params=["calamine", "stream"])
def engine(request: pytest.FixtureRequest) -> tuple[str, ReadLimits]:
    """The expected engine name and the limits that select it (a zero cell budget streams)."""
    if request.param == "calamine":
        return "calamine", ReadLimits()
    return "stream", ReadLimits(max_loaded_cells=0)


def reading(monkeypatch: pytest.MonkeyPatch, *, in_worker: bool) -> None:
    """Imports read and map in a worker process (a mapping without lookups), or never."""
    from hub.importer import stream

    monkeypatch.setattr(stream, "_in_worker",
                        lambda _path, mapping: in_worker and not mapping.lookups)


@pytest.fixture
def xml() -> SimpleNamespace:
    """The XML snippet builders: sheet, inline, number, styles, strings."""
    return SimpleNamespace(sheet=sheet_xml, inline=inline, number=number, styles=styles_xml,
                           strings=shared_strings_xml)


@pytest.fixture(params=["in process", "worker"])
def imports_hub(request: pytest.FixtureRequest, database_url: str, make_hub: Any,
                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A hub on a fresh store whose uploads and reports go under the test's folder; each
    test runs twice: read and mapped in process, and in a worker process (whatever the
    file's size)."""
    reading(monkeypatch, in_worker=request.param == "worker")
    monkeypatch.setenv("HUB_IMPORTS_DIR", str(tmp_path / "imports"))
    runtime = make_hub(database_url)
    runtime.settings.imports_dir = tmp_path / "imports"
    yield runtime
    runtime.close()
