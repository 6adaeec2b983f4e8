"""The error report, written and read back: columns, errors, highlighting, formula
neutralisation, types kept, and a fixed report imported again."""

from __future__ import annotations

import csv
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.importer import (
    REPORT_EXTRA_COLUMNS,
    CellError,
    RejectedRow,
    open_table,
    write_report,
)

HEADERS = ["客户名称", "手机号", "问题分类", "金额"]
REJECTED = [
    RejectedRow(3, ["上海申通物流", "1380000", "退货", 12.5],
                [CellError("手机号", "不是有效的手机号"), CellError(None, "客户不存在")]),
    RejectedRow(7, ["北京京东", "13900000002", "", "abc"],
                [CellError("问题分类", "必填"), CellError("金额", "不是数字")]),
]
RISKY = ["=1+1", "+86 138 0000 0000", "-5", "@SUM(A1:A9)", "\t=cmd", "\r=cmd",
         "=HYPERLINK(\"http://evil.example\",\"点我\")"]


def load(path: Path) -> Any:
    from openpyxl import load_workbook

    return load_workbook(path).active


def test_write_report__xlsx_columns_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"

    assert write_report(path, headers=HEADERS, rows=REJECTED) == 2

    sheet = load(path)
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values == [
        [*HEADERS, "源行号 / source row", "错误 / errors"],
        ["上海申通物流", "1380000", "退货", 12.5, 3, "手机号: 不是有效的手机号; 客户不存在"],
        ["北京京东", "13900000002", None, "abc", 7, "问题分类: 必填; 金额: 不是数字"],
    ]
    assert REPORT_EXTRA_COLUMNS == ("源行号 / source row", "错误 / errors")


def test_write_report__xlsx_bad_cells_highlighted_header_bold_and_frozen(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    write_report(path, headers=HEADERS, rows=REJECTED)

    sheet = load(path)

    def filled(ref: str) -> bool:
        return sheet[ref].fill.fill_type == "solid"

    assert [filled(f"{c}2") for c in "ABCDEF"] == [False, True, False, False, False, False]
    assert [filled(f"{c}3") for c in "ABCDEF"] == [False, False, True, True, False, False]
    assert all(sheet[f"{c}1"].font.b for c in "ABCDEF")
    assert not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_write_report__formulas_neutralised(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"report.{kind}"
    rows = [RejectedRow(2, [value, "=2+2", "ok", 1.0], [CellError(None, "=bad()")])
            for value in RISKY]

    write_report(path, headers=["=header", *HEADERS[1:]], rows=rows, kind=kind)  # type: ignore[arg-type]

    if kind == "csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            cells = [c for row in csv.reader(f) for c in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
        assert {"'=header", "'=2+2", "'=bad()", "'+86 138 0000 0000", "'-5"} <= set(cells)
        return
    sheet = load(path)
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    # the value itself is inert: a tool that copies it out gets no formula back
    assert not [c.coordinate for c in cells
                if isinstance(c.value, str) and c.value[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert {"'=header", "'=2+2", "'=bad()", "'+86 138 0000 0000", "'-5"} <= \
        {c.value for c in cells}
    assert [c.coordinate for c in cells if c.quotePrefix] == [
        "A1", *(f"{col}{r}" for r in range(2, 2 + len(RISKY)) for col in "ABF")]
    with zipfile.ZipFile(path) as z:
        assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")
    with open_table(path) as table:  # read as written (an import takes the quote off)
        assert table.headers[0] == "'=header"
        assert [v[:2] for _, v in table.rows()] == [["'" + r, "'=2+2"] for r in RISKY]


def test_write_report__xlsx_types_kept(tmp_path: Path) -> None:
    path = tmp_path / "types.xlsx"
    values = [12.5, 42, True, date(2024, 3, 1), datetime(2024, 3, 1, 9, 30), "文本"]
    headers = ["浮点", "整数", "布尔", "日期", "时间", "文本"]

    write_report(path, headers=headers, rows=[RejectedRow(2, values, [CellError("浮点", "x")])])

    row = list(next(load(path).iter_rows(min_row=2)))
    assert [c.value for c in row[:6]] == [12.5, 42, True, datetime(2024, 3, 1),
                                          datetime(2024, 3, 1, 9, 30), "文本"]
    assert [c.data_type for c in row[:6]] == ["n", "n", "b", "d", "d", "s"]
    assert row[3].is_date and row[4].is_date


def test_write_report__csv_is_utf8_with_bom_and_plain_values(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    values = ["客户甲", 13800000001.0, 2.5, True, date(2024, 3, 1),
              datetime(2024, 3, 1, 9, 30), time(8, 0), timedelta(hours=30), None]
    headers = [f"h{i}" for i in range(len(values))]

    write_report(path, headers=headers, rows=[RejectedRow(9, values, [])], kind="csv")

    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1] == ["客户甲", "13800000001", "2.5", "TRUE", "2024-03-01",
                       "2024-03-01 09:30:00", "08:00:00", "1 day, 6:00:00", "", "9", ""]


def test_write_report__values_fitted_to_headers(tmp_path: Path) -> None:
    path = tmp_path / "fit.xlsx"
    rows = [RejectedRow(2, ["a"], []), RejectedRow(3, ["a", "b", "c", "d", "e", "extra"], [])]

    write_report(path, headers=HEADERS, rows=rows)

    values = [[c.value for c in row] for row in load(path).iter_rows(min_row=2)]
    assert values == [["a", None, None, None, 2, None], ["a", "b", "c", "d", 3, None]]


def test_write_report__unwritable_text_made_safe(tmp_path: Path) -> None:
    path = tmp_path / "odd.xlsx"
    errors = [CellError("客户名称", "太长" * 10_000) for _ in range(3)]

    odd = ["a\x00b\x1bc", "x\ry", "literal _x0041_", "\ud800"]

    write_report(path, headers=HEADERS, rows=[RejectedRow(2, odd, errors)])

    with open_table(path) as table:  # XML cannot carry them raw; Excel's escapes round-trip
        (_, values), = table.rows()
    assert values[:4] == [*odd[:3], "\ufffd"]
    assert len(values[5]) == 32_767 and values[5].endswith("…")


def test_write_report__failure_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"

    def rows() -> Iterator[RejectedRow]:
        yield REJECTED[0]
        raise RuntimeError("the import broke")

    with pytest.raises(RuntimeError):
        write_report(path, headers=HEADERS, rows=rows())

    assert list(tmp_path.iterdir()) == []


def test_write_report__unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind must be"):
        write_report(tmp_path / "r.txt", headers=HEADERS, rows=[], kind="pdf")  # type: ignore[arg-type]


def test_write_report__streams_rows(tmp_path: Path) -> None:
    def rows(n: int) -> Iterator[RejectedRow]:
        for i in range(n):
            yield RejectedRow(i + 2, [f"客户{i:06d}", f"1380000{i:04d}", "退货", i * 1.5],
                              [CellError("手机号", "不是有效的手机号")])

    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            write_report(tmp_path / f"r{n}.xlsx", headers=HEADERS, rows=rows(n))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(10)  # first use: imports and caches
    small, large = peak(200), peak(3_000)

    # 15x the rows, not 15x the memory (the 3,000 rows alone, as a list, take ~1.4 MiB)
    assert large < small + 512 * 1024


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_write_report__fixed_report_imports_again(tmp_path: Path, kind: str) -> None:
    source = tmp_path / "客户.csv"
    source.write_text("客户名称,手机号,问题分类,金额\n"
                      "好客户,13800000001,退货,1\n"
                      "上海申通物流,1380000,退货,12.5\n"
                      "=恶意,+86 13900000002,维修,-3\n", encoding="utf-8")
    with open_table(source) as table:
        headers = table.headers
        rejected = [RejectedRow(n, v, [CellError("手机号", "不是有效的手机号")])
                    for n, v in table.rows() if n > 2]
    report = tmp_path / f"errors.{kind}"
    write_report(report, headers=headers, rows=rejected, kind=kind)  # type: ignore[arg-type]
    _fix_phone(report, kind, row=2, phone="13800000009")

    with open_table(report) as fixed:
        keep = [i for i, h in enumerate(fixed.headers) if h not in REPORT_EXTRA_COLUMNS]
        assert [fixed.headers[i] for i in keep] == headers
        rows = [(n, [values[i] for i in keep]) for n, values in fixed.rows()]

    quote = "'"  # read as written; an import takes it off (test_imports)
    assert rows == [(2, ["上海申通物流", "13800000009", "退货", "12.5"]),
                    (3, [f"{quote}=恶意", f"{quote}+86 13900000002", "维修", f"{quote}-3"])]


def _fix_phone(report: Path, kind: str, *, row: int, phone: str) -> None:
    """What a user does in Excel: correct the cell and save."""
    if kind == "csv":
        with report.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        rows[row - 1][1] = phone
        with report.open("w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows(rows)
        return
    from openpyxl import load_workbook

    workbook = load_workbook(report)
    sheet = workbook.active
    assert sheet is not None
    sheet.cell(row=row, column=2).value = phone
    workbook.save(report)
