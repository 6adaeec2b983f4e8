"""Mappings that know their file: `sheet:` and `header_row:` in the mapping, and without them
the sheet whose header row holds the mapping's required columns, said in the summary."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from hub.importer.pipeline import ImportOptions, get_import, run_import
from hub.importer.readers import ImportFileError

ROOT = Path(__file__).resolve().parents[3]
HEADERS = ["客户编号", "客户名称", "手机号"]
ROWS = [["c1", "王芳", "13812345678"], ["c2", "李伟", "13812345679"]]
INSTRUCTIONS = [["填写说明"], ["1. 每行一个客户", "2. 手机号填 11 位"], ["字段", "说明"],
                ["客户编号", "必填"]]


def _workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    first = True
    for title, rows in sheets.items():
        sheet = workbook.active if first else workbook.create_sheet(title)
        assert sheet is not None
        sheet.title = title
        first = False
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


@pytest.fixture
def make(database_url: str, make_hub: Any, tmp_path: Path) -> Any:
    hubs = []

    def hub_with(extra: str = "") -> Any:
        folder = tmp_path / f"mappings{len(hubs)}"
        shutil.copytree(ROOT / "mappings", folder)
        path = folder / "import_customers.yaml"
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
        hub = make_hub(database_url, mappings_dir=folder)
        hub.settings.imports_dir = tmp_path / "imports"
        hubs.append(hub)
        return hub

    yield hub_with
    for hub in hubs:
        hub.close()


async def test_import__the_sheet_with_the_required_columns_is_chosen_and_said(
        make: Any, tmp_path: Path) -> None:
    path = _workbook(tmp_path / "客户.xlsx", {"说明": INSTRUCTIONS, "客户": [HEADERS, *ROWS]})

    summary = await run_import(make(), path, mapping="import_customers", actor="test")

    assert (summary.created, summary.rejected, summary.sheet) == (2, 0, "客户")
    assert summary.sheet_chosen is not None
    assert summary.sheet_chosen.startswith("sheet '客户' chosen: its header row 1 holds "
                                           "客户编号, 客户名称; passed over sheet '说明'")


async def test_import__no_sheet_fits__each_sheet_and_what_it_lacked(
        make: Any, tmp_path: Path) -> None:
    path = _workbook(tmp_path / "客户.xlsx", {
        "说明": INSTRUCTIONS, "订单": [["订单号", "客户名称"], ["D1", "王芳"]]})

    with pytest.raises(ImportFileError) as caught:
        await run_import(make(), path, mapping="import_customers", actor="test")

    message = str(caught.value)
    assert message.startswith("客户.xlsx: no sheet has the columns mapping 'import_customers' "
                              "requires (客户编号, 客户名称): sheet '说明'")
    assert "sheet '订单' (header row 1) lacks 客户编号" in message
    assert "\n" not in message


async def test_import__the_mapping_names_its_sheet_and_header_row(
        make: Any, tmp_path: Path) -> None:
    other = [HEADERS, ["x1", "别的", "13800000000"]]
    titled = [["客户名单（导出）"], ["导出时间", "2024-03-05"], HEADERS, *ROWS]
    path = _workbook(tmp_path / "客户.xlsx", {"旧": other, "新": titled})
    by_number = make("sheet: 2\nheader_row: 3\n")
    by_name = make("sheet: 新\nheader_row: 3\n")

    first = await run_import(by_number, path, mapping="import_customers", actor="test")
    second = await run_import(by_name, path, mapping="import_customers", actor="test")
    given = await run_import(by_name, path, mapping="import_customers", force=True,
                             options=ImportOptions(sheet="旧", header_row=1), actor="test")

    assert (first.sheet, first.created, first.sheet_chosen) == ("新", 2, None)
    assert (second.sheet, second.unchanged) == ("新", 2)  # one store: the same rows
    assert (given.sheet, given.created) == ("旧", 1)  # the user's options win
    assert get_import(by_name, given.id).sheet == "旧"
