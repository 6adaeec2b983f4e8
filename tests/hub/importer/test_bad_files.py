"""Bad files: each gets an ImportFileError that names the file and what is wrong, before any
row is read where possible; none crashes the reader or eats memory."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hub.errors import InvalidRequestError
from hub.importer import ImportFileError, ReadLimits, open_table

HEADER = '<row r="1"><c r="A1" t="inlineStr"><is><t>名称</t></is></c>' \
         '<c r="B1" t="inlineStr"><is><t>数量</t></is></c></row>'


def fails(path: Path, *phrases: str, **options: Any) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        with open_table(path, **options) as table:
            list(table.rows())
    message = str(caught.value)
    assert message.startswith(f"{path.name}: ")
    for phrase in phrases:
        assert phrase in message
    return caught.value


def test_import_file_error__is_an_invalid_request() -> None:
    error = ImportFileError(Path("/tmp/uploads/客户.xlsx"), "the file is empty", row=3,
                            column="B")

    assert isinstance(error, InvalidRequestError)
    assert (error.exit_code, error.http_status) == (2, 422)
    assert str(error) == "客户.xlsx: the file is empty"  # the name, not the server's folders
    assert (error.file, error.row, error.column) == ("客户.xlsx", 3, "B")


# -- not what the name says ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "phrase"), [
    ("photo.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "a PNG image"),
    ("scan.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
    ("backup.xlsx", b"Rar!\x1a\x07\x00" + b"\x00" * 64, "a RAR archive"),
    ("notes.xlsx", "客户名称,手机号\n甲,1\n".encode(), "not a zip archive"),
    ("data.csv", b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "binary file"),
    ("empty.csv", b"", "the file is empty"),
    ("empty.xlsx", b"", "the file is empty"),
])
def test_open_table__renamed_or_empty_file(tmp_path: Path, name: str, content: bytes,
                                           phrase: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    fails(path, phrase)


def test_open_table__missing_file(tmp_path: Path) -> None:
    fails(tmp_path / "gone.xlsx", "file not found")


def test_open_table__csv_with_nul_bytes_after_the_sample(tmp_path: Path) -> None:
    path = tmp_path / "late-nul.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 100_000 + b"3,\x00\n")

    error = fails(path, "NUL bytes", "binary file")

    assert "byte offset 400,006" in str(error)


@pytest.mark.parametrize(("content", "phrase"), [
    (b"\n\n\r\n", "has no data: it is empty"),
    (b",,,\n,,\n", "has no data: it is empty"),
])
def test_open_table__csv_without_data(tmp_path: Path, content: bytes, phrase: str) -> None:
    path = tmp_path / "blank.csv"
    path.write_bytes(content)

    fails(path, phrase)


def test_open_table__csv_without_a_header_row(tmp_path: Path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("\n".join(f"{i},{i * 2}" for i in range(30)), encoding="utf-8")

    fails(path, "found no header row in the first 20 non-blank rows", "say which row")


@pytest.mark.parametrize("header_row", [0, -1])
def test_open_table__header_row_counts_from_one(tmp_path: Path, header_row: int) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")

    fails(path, "header_row counts from 1", header_row=header_row)


def test_open_table__configured_header_row_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a,b\n\n1,2\n", encoding="utf-8")

    fails(path, "header row 2 of the file is empty", header_row=2)
    fails(path, "header row 9 of the file is empty", header_row=9)
    path.write_text("a,b\n  ,\t\n1,2\n", encoding="utf-8")
    fails(path, "header row 2 of the file is empty", header_row=2)


# -- encodings -------------------------------------------------------------------------------


def test_open_table__invalid_bytes_in_a_utf8_bom_file(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "名称,数量\n甲,1\n".encode() + b"\xd2\xd2,2\n")

    error = fails(path, "is not valid UTF-8 text", "invalid byte(s) D2", "at line 3",
                  "byte offset 23")

    assert error.row == 3


def test_open_table__utf8_file_damaged_late_is_not_taken_for_gb18030(tmp_path: Path) -> None:
    body = "".join(f"客户{i},问题分类{i}\n" for i in range(50)).encode()
    path = tmp_path / "damaged.csv"
    path.write_bytes("名称,分类\n".encode() + body + b"\xff\xfe,x\n")

    fails(path, "is not valid UTF-8 text", "invalid byte(s) FF", "at line 52")


def test_open_table__declared_utf8_but_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "gb.csv"
    path.write_bytes("名称,数量\n甲,1\n".encode("gb18030"))

    fails(path, "is not valid utf-8 text", "at line 1", "byte offset 0", encoding="utf-8")


def test_open_table__neither_utf8_nor_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "mystery.csv"
    path.write_bytes(b"name,qty\nabc,1\n\x81\x20\xff,2\n")

    fails(path, "is neither UTF-8", "nor GB18030", "at line 3", "pass its encoding")


def test_open_table__unknown_encoding(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")

    fails(path, "unknown encoding 'klingon'", encoding="klingon")


def test_open_table__bad_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")

    fails(path, "one character", delimiter="::")


# -- limits on rows and cells ----------------------------------------------------------------


def test_open_table__csv_16000_columns(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("名称,数量\n甲,1\n" + ",".join(["x"] * 16_000) + "\n乙,2\n", encoding="utf-8")

    error = fails(path, "row 3 has 16,000 columns (limit 1,024)")

    assert error.row == 3


def test_open_table__csv_wide_header_row(tmp_path: Path) -> None:
    path = tmp_path / "wide-header.csv"
    path.write_text(",".join(f"h{i}" for i in range(2000)) + "\n", encoding="utf-8")

    fails(path, "row 1 has 2,000 columns")


def test_open_table__xlsx_16000_columns(raw_xlsx: Any, xml: SimpleNamespace) -> None:
    # (too wide for python-calamine's whole-range load: always the streaming reader)
    from hub.importer._csv import column_letter

    wide = "".join(xml.number(f"{column_letter(c)}3", c) for c in range(16_000))
    path = raw_xlsx("wide.xlsx", xml.sheet(
        HEADER + '<row r="2">' + xml.inline("A2", "甲") + "</row>" + f'<row r="3">{wide}</row>'))

    error = fails(path, "row 3 has a value in column AMK, which makes 1,025 columns "
                        "(limit 1,024)")

    assert (error.row, error.column) == (3, "AMK")


def test_open_table__xlsx_stray_value_far_right(raw_xlsx: Any, xml: SimpleNamespace) -> None:
    path = raw_xlsx("stray.xlsx", xml.sheet(
        HEADER + '<row r="2">' + xml.inline("A2", "甲") + xml.inline("XFD2", "?") + "</row>"))

    fails(path, "row 2 has a value in column XFD, which makes 16,384 columns")


def test_open_table__styled_empty_cells_far_right_are_not_columns(
        raw_xlsx: Any, xml: SimpleNamespace) -> None:
    path = raw_xlsx("styled.xlsx", xml.sheet(
        HEADER + '<row r="2">' + xml.inline("A2", "甲") + '<c r="XFD2" s="0"/></row>'))

    with open_table(path) as table:
        assert list(table.rows()) == [(2, ["甲", ""])]


def test_open_table__csv_cell_too_long(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("名称,备注\n甲,ok\n乙," + "长" * 40_000 + "\n", encoding="utf-8")

    error = fails(path, "row 3, column B: the cell has 40,000 characters (limit 32,767)")

    assert (error.row, error.column) == (3, "B")


def test_open_table__csv_cell_far_too_long(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text("名称,备注\n甲,ok\n乙,\"" + "x" * 200_000 + "\"\n", encoding="utf-8")

    error = fails(path, "row 3: a cell has more than 131,072 characters (limit 32,767)")

    assert error.row == 3


def test_open_table__csv_quoted_cell_too_long_across_lines(tmp_path: Path) -> None:
    text = "\n".join(["x" * 1000] * 40)  # no single line is long; the cell is
    path = tmp_path / "long-quoted.csv"
    path.write_text(f'名称,备注\n甲,"{text}"\n', encoding="utf-8")

    fails(path, "row 2, column B: the cell has 40,039 characters")


def test_open_table__csv_line_too_long(tmp_path: Path) -> None:
    path = tmp_path / "line.csv"
    path.write_text("名称,备注\n甲," + "x" * 5000 + "\n", encoding="utf-8")

    fails(path, "line 2 is longer than 4,096 characters",
          limits=ReadLimits(max_line_chars=4096, max_cell_chars=1000))


@pytest.mark.parametrize("where", ["inline", "shared"])
def test_open_table__xlsx_cell_too_long(raw_xlsx: Any, xml: SimpleNamespace,
                                        where: str) -> None:
    text = "长" * 40_000
    if where == "inline":
        cell, strings = xml.inline("B3", text), None
    else:
        cell, strings = '<c r="B3" t="s"><v>0</v></c>', xml.strings([f"<t>{text}</t>"])
    path = raw_xlsx("long.xlsx", xml.sheet(
        HEADER + '<row r="2">' + xml.inline("A2", "甲") + "</row>"
        + '<row r="3">' + xml.inline("A3", "乙") + cell + "</row>"), strings=strings)

    error = fails(path, "row 3, column B: the cell has 40,000 characters")

    assert (error.row, error.column) == (3, "B")


def test_open_table__xlsx_long_but_allowed_cell(raw_xlsx: Any, xml: SimpleNamespace) -> None:
    text = "长" * 20_000  # 60,000 bytes: over the limit in bytes, not in characters
    path = raw_xlsx("ok.xlsx", xml.sheet(
        HEADER + '<row r="2">' + xml.inline("A2", "甲") + xml.inline("B2", text) + "</row>"))

    with open_table(path) as table:
        assert list(table.rows()) == [(2, ["甲", text])]


# -- workbooks that are not what they should be ----------------------------------------------


def test_open_table__corrupt_zip(tmp_path: Path, write_xlsx: Any) -> None:
    good = write_xlsx("good.xlsx", [["名称", "数量"], ["甲", 1]]).read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good[: len(good) // 2])
    scrambled = tmp_path / "scrambled.xlsx"
    scrambled.write_bytes(good[:30] + bytes(b ^ 0x5A for b in good[30:-22]) + good[-22:])

    fails(truncated, "is a corrupt zip archive")
    fails(scrambled, "corrupt zip archive")


def test_open_table__damaged_sheet_xml(raw_xlsx: Any, xml: SimpleNamespace,
                                       engine: tuple[str, ReadLimits]) -> None:
    path = raw_xlsx("bad-xml.xlsx", xml.sheet(HEADER + '<row r="2"><c r="A2"><v>1</v></row>'))

    fails(path, "the workbook is damaged", limits=engine[1])


def test_open_table__damaged_member_crc(tmp_path: Path, raw_xlsx: Any,
                                        xml: SimpleNamespace) -> None:
    path = raw_xlsx("crc.xlsx", xml.sheet(HEADER + '<row r="2">' + xml.inline("A2", "甲")
                                          + "</row>"))
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    at = _central_entry(data, info.filename)
    struct.pack_into("<I", data, at + 16, info.CRC ^ 1)
    path.write_bytes(bytes(data))

    fails(path, "the workbook is damaged: cannot inflate xl/worksheets/sheet1.xml", "CRC")


def test_open_table__damaged_deflate_stream(raw_xlsx: Any, xml: SimpleNamespace) -> None:
    rows = "".join(f'<row r="{r}">' + xml.inline(f"A{r}", f"客户{r}") + "</row>"
                   for r in range(2, 3000))
    path = raw_xlsx("deflate.xlsx", xml.sheet(HEADER + rows))
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename)
    for i in range(start + info.compress_size // 2, start + info.compress_size // 2 + 64):
        data[i] ^= 0xA5
    path.write_bytes(bytes(data))

    fails(path, "the workbook is damaged")


def _central_entry(data: bytearray, name: str) -> int:
    at = data.find(b"PK\x01\x02")
    while data[at + 46: at + 46 + len(name.encode())] != name.encode():
        at = data.find(b"PK\x01\x02", at + 4)
    return at


@pytest.mark.parametrize(("members", "phrase"), [
    ({"hello.txt": "hi"}, "is a zip archive, not an Excel workbook"),
    ({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"}, "is a Word document"),
    ({"[Content_Types].xml": "<Types/>", "xl/workbook.bin": "\x00"}, "binary workbook (.xlsb)"),
    ({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"},
     "is an OpenDocument file"),
    ({"[Content_Types].xml": "<Types/>", "ppt/presentation.xml": "<p/>"},
     "is an Office file but not an Excel workbook"),
])
def test_open_table__zip_that_is_not_a_workbook(tmp_path: Path, members: dict[str, str],
                                                phrase: str) -> None:
    path = tmp_path / "other.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        for name, body in members.items():
            z.writestr(name, body)

    fails(path, phrase)


def test_open_table__unknown_sheet_lists_the_sheets(write_xlsx: Any) -> None:
    path = write_xlsx("s.xlsx", [["a", "b"]], sheet="客户", more_sheets={"工单": [["c", "d"]]})

    fails(path, "there is no sheet named '订单'; the sheets are: 0 '客户', 1 '工单'", sheet="订单")
    fails(path, "there is no sheet number 5 (counting from 0); the sheets are: 0 '客户'", sheet=5)


def test_open_table__empty_sheet(write_xlsx: Any, engine: tuple[str, ReadLimits]) -> None:
    path = write_xlsx("empty-sheet.xlsx", [])

    fails(path, "sheet 'Sheet1' has no data: it is empty", limits=engine[1])


def test_open_table__dtd_in_a_sheet(raw_xlsx: Any, xml: SimpleNamespace) -> None:
    sheet = xml.sheet(HEADER).replace(
        "<worksheet", '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]><worksheet', 1)
    path = raw_xlsx("dtd.xlsx", sheet)

    fails(path, "declares a DTD")


# -- compound files: password-protected and legacy workbooks ---------------------------------


@pytest.mark.parametrize(("name", "streams", "phrase"), [
    ("secret.xlsx", ["\x06DataSpaces", "EncryptionInfo", "EncryptedPackage"],
     "is a password-protected workbook; remove the password"),
    ("old.xls", ["Workbook", "\x05SummaryInformation"], "is a legacy .xls workbook; open it in "
                                                        "Excel and save it as .xlsx"),
    ("older.xls", ["Book"], "save it as .xlsx"),
    ("letter.doc", ["WordDocument", "1Table"], "is a legacy Word document"),
    ("odd.xlsx", ["Something"], "password-protected workbook or a legacy .xls file"),
])
def test_open_table__compound_file(make_compound_file: Any, name: str, streams: list[str],
                                   phrase: str) -> None:
    fails(make_compound_file(name, streams), phrase)


def test_open_table__file_with_only_the_ole2_magic(tmp_path: Path) -> None:
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 100)

    fails(path, "password-protected workbook or a legacy .xls file (OLE2 compound file)")


# -- zip bombs -------------------------------------------------------------------------------


def test_open_table__zip_bomb_by_ratio(tmp_path: Path, raw_xlsx: Any,
                                       xml: SimpleNamespace) -> None:
    path = raw_xlsx("bomb.xlsx", xml.sheet(HEADER))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        with z.open("xl/media/padding.bin", "w") as member:
            for _ in range(8):
                member.write(b"\x00" * (1 << 20))  # 8 MiB of zeros deflate ~1000x
    assert path.stat().st_size < 64 * 1024

    fails(path, "looks like a zip bomb: member 'xl/media/padding.bin' inflates", "(limit 100x)")


def test_open_table__zip_bomb_by_declared_size(tmp_path: Path, raw_xlsx: Any,
                                               xml: SimpleNamespace) -> None:
    path = raw_xlsx("declared.xlsx", xml.sheet(HEADER))
    data = bytearray(path.read_bytes())
    at = _central_entry(data, "xl/worksheets/sheet1.xml")
    struct.pack_into("<I", data, at + 24, 3 << 30)  # central directory: 3 GiB uncompressed
    path.write_bytes(bytes(data))

    fails(path, "looks like a zip bomb")


def test_open_table__zip_total_size_limit(raw_xlsx: Any, xml: SimpleNamespace) -> None:
    path = raw_xlsx("big.xlsx", xml.sheet(HEADER + "".join(
        f'<row r="{r}">' + xml.inline(f"A{r}", f"客户{r}") + "</row>" for r in range(2, 2000))))

    fails(path, "looks like a zip bomb: it inflates to", "(limit 0 MiB)",
          limits=ReadLimits(max_total_uncompressed=50_000))


def test_open_table__zip_with_too_many_members(tmp_path: Path, raw_xlsx: Any,
                                               xml: SimpleNamespace) -> None:
    path = raw_xlsx("many.xlsx", xml.sheet(HEADER))
    with zipfile.ZipFile(path, "a") as z:
        for i in range(60):
            z.writestr(f"xl/media/{i}.txt", "x")

    fails(path, "the zip archive has 65 members", "limit 50",
          limits=ReadLimits(max_zip_members=50))


def test_open_table__shared_strings_over_the_limit(raw_xlsx: Any, xml: SimpleNamespace) -> None:
    strings = xml.strings([f"<t>客户{i}</t>" for i in range(5000)])
    path = raw_xlsx("sst.xlsx", xml.sheet(HEADER), strings=strings)

    fails(path, "its shared-strings table is", "save the sheet as CSV",
          limits=ReadLimits(max_shared_strings_bytes=10_000))


# -- big files, bounded memory ---------------------------------------------------------------

# VmHWM, the peak resident memory of this process image (ru_maxrss can carry the parent's peak
# across fork and exec).
_PEAK = """
import json, sys
from hub.importer import ReadLimits, open_table
def peak():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
before = peak()
count = 0
if len(sys.argv) > 1:
    limits = ReadLimits(max_loaded_cells=int(sys.argv[2]))
    with open_table(sys.argv[1], limits=limits) as table:
        engine = table.engine
        for count, (number, values) in enumerate(table.rows(), 1):
            pass
else:
    engine = None
after = peak()
print(json.dumps({"rows": count, "growth_kib": after - before, "engine": engine}))
"""


def _peak(*args: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-c", _PEAK, *args], capture_output=True,
                            text=True, check=True, cwd=Path(__file__).resolve().parents[3])
    return json.loads(result.stdout)


needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc")


@pytest.mark.slow
@needs_proc
def test_open_table__million_row_csv_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "million.csv"
    line = "客户{0},1380000{0:04d},退货,上海,12.5,3,2024-03-01,\"备注, 含逗号\",VIP,{0}\n"
    with path.open("w", encoding="utf-8") as f:
        f.write("客户名称,手机号,问题分类,城市,金额,数量,日期,备注,等级,编号\n")
        for start in range(0, 1_000_000, 10_000):
            f.write("".join(line.format(i) for i in range(start, start + 10_000)))
    size_mib = path.stat().st_size >> 20

    measured = _peak(str(path), "0")

    assert measured["rows"] == 1_000_000
    assert size_mib > 80
    assert measured["growth_kib"] < 25 * 1024  # a ~90 MiB file, read in a few MiB


@pytest.mark.slow
@needs_proc
def test_open_table__large_xlsx_streamed_in_bounded_memory(raw_xlsx: Any,
                                                           xml: SimpleNamespace) -> None:
    rows = "".join(f'<row r="{r}">{xml.inline(f"A{r}", f"客户{r}")}{xml.number(f"B{r}", r)}'
                   f'{xml.inline(f"C{r}", "退货" if r % 2 else "维修")}</row>'
                   for r in range(2, 200_002))
    header = (f'<row r="1">{xml.inline("A1", "客户名称")}{xml.inline("B1", "编号")}'
              f'{xml.inline("C1", "分类")}</row>')
    path = raw_xlsx("big.xlsx", [("客户", xml.sheet(header + rows))])

    streamed = _peak(str(path), "0")
    loaded = _peak(str(path), str(10**9))

    assert (streamed["engine"], loaded["engine"]) == ("stream", "calamine")
    assert streamed["rows"] == loaded["rows"] == 200_000
    assert streamed["growth_kib"] < 25 * 1024
    assert loaded["growth_kib"] > streamed["growth_kib"]  # calamine holds the sheet
