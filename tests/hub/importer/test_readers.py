"""open_table on real files: CSV encodings and dialects, XLSX values, sheets, header rows,
merged cells, formulas and dates, read the same by python-calamine and the streaming reader."""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hub.core.cells import ExcelError
from hub.importer import ReadLimits, open_table

HEADERS = ["客户名称", "手机号", "问题分类"]
ROWS = [["上海申通物流", "13800000001", "退货"], ["北京京东", "13900000002", "维修"]]


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def read(path: Path, engine: tuple[str, ReadLimits] | None = None, **options: Any
         ) -> tuple[Any, list[tuple[int, list[Any]]]]:
    """The table and its rows; with `engine`, read by that engine (and checked it was)."""
    if engine is not None:
        options["limits"] = engine[1]
    with open_table(path, **options) as table:
        if engine is not None:
            assert table.engine == engine[0]
        return table, list(table.rows())


# -- CSV -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "detected"), [
    ("utf-8", "utf-8"),
    ("utf-8-sig", "utf-8-sig"),
    ("gb18030", "gb18030"),
    ("gbk", "gb18030"),
    ("utf-16", "utf-16"),
])
def test_open_table__csv_encoding_detected(tmp_path: Path, encoding: str, detected: str) -> None:
    path = write_csv(tmp_path / "客户.csv", [HEADERS, *ROWS], encoding=encoding)

    table, rows = read(path)

    assert (table.kind, table.encoding, table.engine) == ("csv", detected, "csv")
    assert table.headers == HEADERS  # no BOM glued to the first header
    assert rows == [(2, ROWS[0]), (3, ROWS[1])]


def test_open_table__csv_gb18030_after_a_megabyte_of_ascii(tmp_path: Path) -> None:
    # The first Chinese character sits past the first chunk: the whole file decides.
    lines = [["name", "phone", "note"]] + [[f"n{i}", f"1{i:010d}", "ok"] for i in range(60_000)]
    path = write_csv(tmp_path / "late.csv", [*lines, ["张三", "13800000000", "退货"]],
                     encoding="gb18030")
    assert path.stat().st_size > 1 << 20

    table, rows = read(path)

    assert table.encoding == "gb18030"
    assert rows[-1] == (60_002, ["张三", "13800000000", "退货"])


def test_open_table__csv_encoding_override(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "latin.csv", [["name", "city"], ["José", "São Paulo"]],
                     encoding="latin-1")

    table, rows = read(path, encoding="latin-1")

    assert table.encoding == "latin-1"
    assert rows == [(2, ["José", "São Paulo"])]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_open_table__csv_delimiter_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path / "d.csv", [HEADERS, *ROWS], delimiter=delimiter)

    table, rows = read(path)

    assert table.delimiter == delimiter
    assert table.headers == HEADERS
    assert rows[0] == (2, ROWS[0])


def test_open_table__csv_semicolons_with_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text("名称;金额;数量\n苹果;1,5;3\n梨;2,25;4\n", encoding="utf-8")

    table, rows = read(path)

    assert (table.delimiter, table.headers) == (";", ["名称", "金额", "数量"])
    assert rows == [(2, ["苹果", "1,5", "3"]), (3, ["梨", "2,25", "4"])]


def test_open_table__csv_delimiter_override(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("a;b,c\n1;2,3\n", encoding="utf-8")

    table, rows = read(path, delimiter=",")

    assert table.headers == ["a;b", "c"]
    assert rows == [(2, ["1;2", "3"])]


def test_open_table__csv_quoted_newlines_count_as_one_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "q.csv", [HEADERS, ["甲", "1", "第一行\n第二行\r\n第三行"],
                                          ["乙", "2", "单行"]])

    _, rows = read(path)

    assert rows == [(2, ["甲", "1", "第一行\n第二行\r\n第三行"]), (3, ["乙", "2", "单行"])]


def test_open_table__csv_blank_rows_skipped_row_numbers_kept(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("客户名称,手机号\r\n\r\n甲,1\r\n,\r\n\r\n乙,2\r\n", encoding="utf-8")

    _, rows = read(path)

    assert rows == [(3, ["甲", "1"]), (6, ["乙", "2"])]


def test_open_table__csv_short_rows_padded_long_rows_cut(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1\n1,2,3,4,5\n", encoding="utf-8")

    _, rows = read(path)

    assert rows == [(2, ["1", "", ""]), (3, ["1", "2", "3"])]


def test_open_table__csv_header_row_found_under_a_title(tmp_path: Path) -> None:
    path = tmp_path / "titled.csv"
    path.write_text("2024年客户清单\n\n客户名称,手机号,问题分类\n甲,13800000001,退货\n",
                    encoding="utf-8")

    table, rows = read(path)

    assert (table.header_row, table.headers) == (3, HEADERS)
    assert rows == [(4, ["甲", "13800000001", "退货"])]


def test_open_table__csv_numbers_row_is_not_taken_for_headers(tmp_path: Path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("1,2,3\n名称,数量,金额\n甲,1,2\n", encoding="utf-8")

    table, _ = read(path)

    assert table.header_row == 2


def test_open_table__csv_header_row_configured(tmp_path: Path) -> None:
    path = tmp_path / "conf.csv"
    path.write_text("a,b\nc,d\n1,2\n", encoding="utf-8")

    table, rows = read(path, header_row=2)

    assert (table.header_row, table.headers, rows) == (2, ["c", "d"], [(3, ["1", "2"])])


def test_open_table__csv_one_column(tmp_path: Path) -> None:
    path = tmp_path / "phones.csv"
    path.write_text("手机号\n13800000001\n13800000002\n", encoding="utf-8")

    table, rows = read(path)

    assert (table.headers, rows) == (["手机号"], [(2, ["13800000001"]), (3, ["13800000002"])])


def test_open_table__headers_stripped_duplicates_and_blanks_named(tmp_path: Path) -> None:
    path = tmp_path / "dups.csv"
    path.write_text(" 名称 ,名称,,备注,名称 (2),名称\n1,2,3,4,5,6\n", encoding="utf-8")

    table, rows = read(path)

    assert table.headers == ["名称", "名称 (3)", "列C", "备注", "名称 (2)", "名称 (4)"]
    assert rows == [(2, ["1", "2", "3", "4", "5", "6"])]


def test_open_table__csv_estimated_rows_and_rows_read_twice(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", [HEADERS, *ROWS * 50])

    with open_table(path) as table:
        assert table.estimated_rows == 100
        first, second = list(table.rows()), list(table.rows())

    assert first == second and len(first) == 100


def test_open_table__csv_header_only_is_empty(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "h.csv", [HEADERS])

    table, rows = read(path)

    assert (table.headers, rows, table.is_empty) == (HEADERS, [], True)


def test_open_table__name_does_not_decide_the_reader(tmp_path: Path, write_xlsx: Any) -> None:
    workbook = write_xlsx("x.xlsx", [HEADERS, ROWS[0]])
    disguised = tmp_path / "really-a-workbook.csv"
    disguised.write_bytes(workbook.read_bytes())
    text = write_csv(tmp_path / "export.xls", [HEADERS, ROWS[0]], delimiter="\t")

    assert read(disguised)[0].kind == "xlsx"
    assert read(text)[0].kind == "csv"  # a "web export" .xls that is tab-separated text


# -- XLSX ------------------------------------------------------------------------------------


def test_open_table__xlsx_values(write_xlsx: Any, engine: tuple[str, ReadLimits]) -> None:
    name, limits = engine
    path = write_xlsx("客户.xlsx", [
        [*HEADERS, "金额", "数量", "日期", "时间", "VIP"],
        ["上海申通物流", "13800000001", "退货", 12.5, 3, date(2024, 3, 1),
         datetime(2024, 3, 1, 9, 30), True],
        ["北京京东", 13900000002, "维修", -0.25, 0, datetime(2024, 2, 29), None, False],
    ])

    table, rows = read(path, limits=limits)

    assert (table.kind, table.engine, table.sheet, table.header_row) == ("xlsx", name, "Sheet1", 1)
    assert table.headers == [*HEADERS, "金额", "数量", "日期", "时间", "VIP"]
    assert rows == [
        (2, ["上海申通物流", "13800000001", "退货", 12.5, 3.0, date(2024, 3, 1),
             datetime(2024, 3, 1, 9, 30), True]),
        (3, ["北京京东", 13900000002.0, "维修", -0.25, 0.0, date(2024, 2, 29), "", False]),
    ]
    assert type(rows[0][1][4]) is float  # whole numbers stay floats; the mapping coerces
    assert table.estimated_rows == 2


def test_open_table__xlsx_sheet_by_name_index_and_default(write_xlsx: Any) -> None:
    more = {"客户": [HEADERS, ROWS[0]], "工单": [["单号", "状态"], ["1", "开"]]}
    path = write_xlsx("multi.xlsx", [["说明", "x"], ["a", "b"]], sheet="说明", more_sheets=more,
                      hidden=["说明"])

    assert read(path)[0].sheet == "客户"  # the first visible sheet
    assert read(path, sheet="工单")[1] == [(2, ["1", "开"])]
    assert read(path, sheet=" 工单 ")[0].sheet == "工单"
    assert read(path, sheet=0)[0].sheet == "说明"
    assert read(path, sheet=1)[0].headers == HEADERS
    assert read(path, sheet="2")[0].sheet == "工单"


def test_open_table__xlsx_header_row_under_merged_title(
        write_xlsx: Any, engine: tuple[str, ReadLimits]) -> None:
    path = write_xlsx("titled.xlsx", [["2024年客户清单"], [], HEADERS, ROWS[0]], merges=["A1:C1"])

    table, rows = read(path, engine=engine)

    assert (table.header_row, table.headers) == (3, HEADERS)
    assert rows == [(4, ROWS[0])]


def test_open_table__xlsx_merged_header_fills_the_cells_it_spans(
        write_xlsx: Any, engine: tuple[str, ReadLimits]) -> None:
    path = write_xlsx("merged.xlsx", [["客户名称", "联系方式", None, "备注"],
                                      ["甲", "13800000001", "a@example.com", "x"]],
                      merges=["B1:C1"])

    table, rows = read(path, engine=engine)

    assert table.headers == ["客户名称", "联系方式", "联系方式 (2)", "备注"]
    assert rows == [(2, ["甲", "13800000001", "a@example.com", "x"])]


def test_open_table__xlsx_two_row_header_with_vertical_merge(
        write_xlsx: Any, engine: tuple[str, ReadLimits]) -> None:
    path = write_xlsx("two.xlsx", [["客户名称", "联系方式", None],
                                   [None, "手机号", "邮箱"],
                                   ["甲", "13800000001", "a@example.com"]],
                      merges=["A1:A2", "B1:C1"])

    table, rows = read(path, header_row=2, engine=engine)

    assert table.headers == ["客户名称", "手机号", "邮箱"]
    assert rows == [(3, ["甲", "13800000001", "a@example.com"])]


def test_open_table__xlsx_merged_data_cells_fill_down(
        write_xlsx: Any, engine: tuple[str, ReadLimits]) -> None:
    path = write_xlsx("down.xlsx", [["问题分类", "客户名称"], ["退货", "甲"], [None, "乙"],
                                    [None, "丙"], ["维修", "丁"]], merges=["A2:A4"])

    _, rows = read(path, engine=engine)

    assert rows == [(2, ["退货", "甲"]), (3, ["退货", "乙"]), (4, ["退货", "丙"]),
                    (5, ["维修", "丁"])]


def test_open_table__xlsx_table_off_the_corner(
        write_xlsx: Any, engine: tuple[str, ReadLimits]) -> None:
    rows_in = [[], [], [None, None, *HEADERS], [], [None, None, *ROWS[0]],
               [None, "stray", *ROWS[1]]]
    path = write_xlsx("corner.xlsx", rows_in)

    table, rows = read(path, engine=engine)

    assert (table.header_row, table.headers) == (3, HEADERS)
    assert rows == [(5, ROWS[0]), (6, ROWS[1])]  # the stray cell left of the headers is dropped


def test_open_table__xlsx_formula_cells_give_cached_values(
        raw_xlsx: Any, xml: SimpleNamespace, engine: tuple[str, ReadLimits]) -> None:
    rows = (
        '<row r="1">' + "".join(xml.inline(f"{c}1", h) for c, h in zip(
            "ABCDE", ["单价", "数量", "金额", "标签", "待算"], strict=True)) + "</row>"
        '<row r="2"><c r="A2"><v>2.5</v></c><c r="B2"><v>4</v></c>'
        '<c r="C2"><f>A2*B2</f><v>10</v></c>'
        '<c r="D2" t="str"><f>IF(C2&gt;5,"大单","小单")</f><v>大单</v></c>'
        '<c r="E2"><f>NOW()</f></c></row>'
        '<row r="3"><c r="A3"><v>1</v></c><c r="B3"><v>1</v></c>'
        '<c r="C3" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
        '<c r="D3" t="b"><f>TRUE()</f><v>1</v></c></row>')
    path = raw_xlsx("formulas.xlsx", xml.sheet(rows))

    table, got = read(path, engine=engine)

    assert table.engine == engine[0]
    # an error result is an error, never a blank (a broken amount is not "no amount")
    assert got == [(2, [2.5, 4.0, 10.0, "大单", ""]),
                   (3, [1.0, 1.0, ExcelError("#DIV/0!"), True, ""])]


@pytest.mark.parametrize("date1904", [False, True])
def test_open_table__xlsx_dates_by_number_format(
        raw_xlsx: Any, xml: SimpleNamespace, engine: tuple[str, ReadLimits],
        date1904: bool) -> None:
    styles = xml.styles([14, "yyyy/mm/dd hh:mm", "h:mm", "[h]:mm:ss", "0.00", '"y"0', "General"])
    shift = -1462 if date1904 else 0
    cells = [(45352 + shift, 1), (45352.520833333336 + shift, 2), (0.75, 3), (1.25, 4),
             (45352, 5), (45352, 6), (45352, 7)]
    header = "".join(xml.inline(f"{c}1", f"h{c}") for c in "ABCDEFG")
    values = "".join(xml.number(f"{c}2", v, s) for c, (v, s) in zip("ABCDEFG", cells, strict=True))
    path = raw_xlsx("dates.xlsx", xml.sheet(f'<row r="1">{header}</row><row r="2">{values}</row>'),
                    styles=styles, date1904=date1904)

    _, rows = read(path, engine=engine)

    assert rows == [(2, [date(2024, 3, 1), datetime(2024, 3, 1, 12, 30), time(18, 0),
                         timedelta(hours=30), 45352.0, 45352.0, 45352.0])]


def test_open_table__xlsx_excel_dates_from_openpyxl(
        write_xlsx: Any, engine: tuple[str, ReadLimits]) -> None:
    path = write_xlsx("serials.xlsx", [["日期", "序号"], [45000, 45000], [1, 2]],
                      formats={"A2": "yyyy-mm-dd", "A3": "m/d/yy"})

    _, rows = read(path, engine=engine)

    assert rows == [(2, [date(2023, 3, 15), 45000.0]), (3, [date(1900, 1, 1), 2.0])]


def test_open_table__xlsx_shared_strings_rich_text_and_phonetics(
        raw_xlsx: Any, xml: SimpleNamespace, engine: tuple[str, ReadLimits]) -> None:
    strings = xml.strings([
        "<t>客户名称</t>", "<t>备注</t>",
        "<r><rPr><b/></rPr><t>上海</t></r><r><t xml:space=\"preserve\"> 申通</t></r>",
        "<t>東京</t><rPh sb=\"0\" eb=\"2\"><t>トウキョウ</t></rPh>",
        "<t>第一行_x000D_\n第二行 &amp; &lt;标签&gt;</t>",
    ])
    rows = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
            '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>4</v></c></row>'
            '<row r="3"><c r="A3" t="s"><v>3</v></c></row>')
    path = raw_xlsx("sst.xlsx", xml.sheet(rows), strings=strings)

    _, got = read(path, engine=engine)

    assert got == [(2, ["上海 申通", "第一行\r\n第二行 & <标签>"]), (3, ["東京", ""])]


def test_open_table__xlsx_header_only_is_empty(
        write_xlsx: Any, engine: tuple[str, ReadLimits]) -> None:
    path = write_xlsx("h.xlsx", [HEADERS])

    table, rows = read(path, engine=engine)

    assert (table.headers, rows, table.is_empty, table.estimated_rows) == (HEADERS, [], True, 0)


def test_open_table__xlsx_blank_rows_skipped(
        write_xlsx: Any, engine: tuple[str, ReadLimits]) -> None:
    path = write_xlsx("gaps.xlsx", [HEADERS, ROWS[0], [], [None, None, None], ROWS[1]])

    table, rows = read(path, engine=engine)

    assert rows == [(2, ROWS[0]), (5, ROWS[1])]
    assert not table.is_empty


# -- what only the streaming reader meets ----------------------------------------------------


def test_open_table__xlsx_large_sheet_is_streamed(raw_xlsx: Any, xml: SimpleNamespace) -> None:
    rows = "".join(f'<row r="{r}">' + xml.inline(f"A{r}", f"客户{r}") + xml.number(f"B{r}", r)
                   + "</row>" for r in range(2, 1002))
    header = '<row r="1">' + xml.inline("A1", "客户名称") + xml.inline("B1", "编号") + "</row>"
    path = raw_xlsx("big.xlsx", xml.sheet(header + rows))

    loaded, loaded_rows = read(path)
    streamed, streamed_rows = read(path, limits=ReadLimits(max_loaded_cells=1000))

    assert (loaded.engine, streamed.engine) == ("calamine", "stream")
    assert streamed_rows == loaded_rows and len(loaded_rows) == 1000
    assert streamed.estimated_rows == loaded.estimated_rows == 1000


def test_open_table__xlsx_cells_without_references(raw_xlsx: Any, xml: SimpleNamespace) -> None:
    rows = ('<row><c t="inlineStr"><is><t>名称</t></is></c><c t="inlineStr"><is><t>数量</t></is>'
            '</c></row><row><c t="inlineStr"><is><t>甲</t></is></c><c><v>3</v></c></row>'
            '<row r="5"><c t="inlineStr"><is><t>乙</t></is></c><c><v>4</v></c></row>')
    path = raw_xlsx("norefs.xlsx", xml.sheet(rows))

    table, got = read(path)

    assert (table.engine, table.headers) == ("stream", ["名称", "数量"])
    assert got == [(2, ["甲", 3.0]), (5, ["乙", 4.0])]


def test_open_table__xlsx_prefixed_namespace(raw_xlsx: Any) -> None:
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sheet = (f'<x:worksheet xmlns:x="{main}"><x:sheetData>'
             '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>名称</x:t></x:is></x:c>'
             '<x:c r="B1" t="inlineStr"><x:is><x:t>数量</x:t></x:is></x:c></x:row>'
             '<x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>甲</x:t></x:is></x:c>'
             '<x:c r="B2"><x:v>7</x:v></x:c></x:row></x:sheetData></x:worksheet>')
    path = raw_xlsx("prefixed.xlsx", sheet)

    table, got = read(path)

    assert (table.headers, got) == (["名称", "数量"], [(2, ["甲", 7.0])])


def test_open_table__xlsx_far_sparse_cell_does_not_load_the_range(
        raw_xlsx: Any, xml: SimpleNamespace) -> None:
    # One cell a million rows down: python-calamine would allocate every cell in between.
    rows = ('<row r="1">' + xml.inline("A1", "名称") + xml.inline("B1", "数量") + "</row>"
            '<row r="2">' + xml.inline("A2", "甲") + xml.number("B2", 1) + "</row>"
            '<row r="1048576">' + xml.inline("A1048576", "乙") + xml.number("Z1048576", 5)
            + "</row>")
    path = raw_xlsx("sparse.xlsx", xml.sheet(rows))
    assert path.stat().st_size < 5000

    table, got = read(path)

    assert table.engine == "stream"
    assert got == [(2, ["甲", 1.0]), (1_048_576, ["乙", ""])]
