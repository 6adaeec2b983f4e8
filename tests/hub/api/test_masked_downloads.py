"""Masked copies of import error reports: personal cells masked, the rest of the report as
written (highlighted bad cells, quote prefixes, no formulas), streamed."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

from openpyxl import load_workbook

from hub.access.masking import FieldMasker
from hub.api.masked_downloads import masked_download
from hub.config import MaskingSpec
from hub.importer.report import CellError, RejectedRow, write_report

HEADERS = ["客户编号", "手机号", "备注"]
ROWS = [RejectedRow(2, ["C1", 15987654321, "=HYPERLINK(\"http://x\")"],
                    [CellError("手机号", "not a mobile")]),
        RejectedRow(3, ["C2", "0755-86013388", "邮箱 li@example.org"], [CellError(None, "dup")])]


def _download(path: Path, kind: str) -> tuple[bytes, dict[str, str]]:
    response = masked_download(path, kind=kind,  # type: ignore[arg-type]
                               media_type="x", filename="客户.errors." + kind,
                               masker=FieldMasker(MaskingSpec().by_kind()))

    async def body() -> bytes:
        return b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[misc]

    return asyncio.run(body()), dict(response.headers)


def test_xlsx__cells_masked_styles_kept_never_a_formula(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    write_report(path, headers=HEADERS, rows=ROWS, kind="xlsx")
    content, headers = _download(path, "xlsx")
    assert int(headers["content-length"]) == len(content)
    assert headers["content-disposition"].startswith("attachment; filename*=utf-8''")
    sheet = load_workbook(io.BytesIO(content)).active
    assert [cell.value for cell in sheet[2]][:3] == ["C1", "159****4321",
                                                    '\'=HYPERLINK("http://x")']  # inert
    assert sheet["C2"].data_type == "s" and sheet["C2"].quotePrefix  # text, not a formula
    assert sheet["B2"].fill.fgColor.rgb.endswith("FFC7CE")  # the bad cell still highlighted
    assert [cell.value for cell in sheet[3]][1:3] == ["075******3388", "邮箱 l***@example.org"]
    assert sheet.freeze_panes == "A2"


def test_csv__cells_masked_as_it_streams(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    write_report(path, headers=HEADERS, rows=ROWS, kind="csv")
    content, _ = _download(path, "csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:3] == HEADERS
    assert rows[1][:3] == ["C1", "159****4321", "'=HYPERLINK(\"http://x\")"]
    assert rows[2][1:3] == ["075******3388", "邮箱 l***@example.org"]
