"""A cell that shows an error (`#DIV/0!`, `#N/A`…: a formula whose cached result is an error)
is its own kind of value through both XLSX readers, never a blank: a typed field refuses it
with the row, column and field, and the error report shows it as Excel does."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from hub.core.cells import ERROR_CODES, ExcelError
from hub.importer import ReadLimits, open_table
from hub.importer.pipeline import run_import
from hub.mapping.types import COERCERS
from hub.store.models import Customer, ImportReject

CODES = ["#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"]
HEADERS = ["客户编号", "客户名称", "账户余额"]


@pytest.fixture
def hub(imports_hub: Any) -> Any:
    return imports_hub


def _error_cell(ref: str, code: str) -> str:
    """What Excel writes for a formula whose result is an error."""
    return f'<c r="{ref}" t="e"><f>1/0</f><v>{code}</v></c>'


def _engines(path: Path) -> list[tuple[str, list[tuple[int, list[Any]]]]]:
    found = []
    for limits in (ReadLimits(), ReadLimits(max_loaded_cells=0)):
        with open_table(path, limits=limits) as table:
            found.append((table.engine, list(table.rows())))
    return found


def test_error_cells__both_engines_read_them_as_errors(raw_xlsx: Any,
                                                       xml: SimpleNamespace) -> None:
    header = '<row r="2">' + xml.inline("C2", "名称") + xml.inline("D2", "金额") + "</row>"
    rows = "".join(f'<row r="{r}">' + xml.inline(f"C{r}", f"n{r}") + _error_cell(f"D{r}", code)
                   + "</row>" for r, code in enumerate(CODES, 3))
    last = len(CODES) + 3  # an error in the first column, and an error with no cached value
    rows += (f'<row r="{last}"><c r="C{last}" t="e"><v>#N/A</v></c>'
             f'<c r="D{last}" t="e"><f>NA()</f></c></row>'
             f'<row r="{last + 1}"><c r="C{last + 1}" t="e"/>'  # empty, then a neighbour's error
             f'<c r="D{last + 1}" t="e"><v>#REF!</v></c></row>')
    path = raw_xlsx("errors.xlsx", xml.sheet(header + rows))

    (loaded, loaded_rows), (streamed, streamed_rows) = _engines(path)

    assert (loaded, streamed) == ("calamine", "stream")
    assert loaded_rows == streamed_rows
    assert loaded_rows == [*((r, [f"n{r}", ExcelError(code)]) for r, code in enumerate(CODES, 3)),
                           (last, [ExcelError("#N/A"), ""]), (last + 1, ["", ExcelError("#REF!")])]


def test_error_cells__every_typed_field_refuses_them() -> None:
    options = SimpleNamespace(timezone="Asia/Shanghai", values=("a",))
    for coerce in COERCERS.values():
        with pytest.raises(ValueError, match="#DIV/0!"):
            coerce(ExcelError("#DIV/0!"), options)
    assert set(CODES) <= set(ERROR_CODES)


def _workbook_with_errors(path: Path) -> Path:
    """Written by openpyxl with formulas, then given the cached error values Excel saves."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADERS)
    sheet.append(["c1", "好客户", 12.5])
    sheet.append(["c2", "坏金额", "=1/0"])
    sheet.append(["c3", "查不到", "=NA()"])
    workbook.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, code in (("C3", "#DIV/0!"), ("C4", "#N/A")):
        xml, n = re.subn(rf'<c r="{ref}"><f>([^<]*)</f><v\s*/></c>',
                         rf'<c r="{ref}" t="e"><f>\1</f><v>{code}</v></c>', xml)
        assert n == 1
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize("limits", [ReadLimits(), ReadLimits(max_loaded_cells=0)],
                         ids=["calamine", "stream"])
async def test_import__an_error_amount_is_rejected_not_read_as_none(
        hub: Any, tmp_path: Path, limits: ReadLimits, monkeypatch: pytest.MonkeyPatch) -> None:
    import hub.importer.readers as readers

    monkeypatch.setattr(readers, "DEFAULT_LIMITS", limits)
    monkeypatch.setattr(readers.open_table, "__kwdefaults__",
                        {**(readers.open_table.__kwdefaults__ or {}), "limits": limits})
    path = _workbook_with_errors(tmp_path / "客户.xlsx")

    summary = await run_import(hub, path, mapping="import_customers", actor="test")

    assert (summary.created, summary.rejected) == (1, 2)
    with hub.sessions() as session:
        assert [c.external_id for c in session.scalars(sa.select(Customer))] == ["C1"]
        rejects = {r.row_number: r for r in session.scalars(sa.select(ImportReject))}
    assert sorted(rejects) == [3, 4]
    error = rejects[3].errors["errors"][0]
    assert error["column"] == "账户余额"
    assert "balance" in error["message"] and "#DIV/0!" in error["message"]
    assert rejects[4].values["values"][2] == "#N/A"
    with Path(summary.report_csv or "").open(encoding="utf-8-sig", newline="") as f:
        report = list(csv.reader(f))
    assert [row[2] for row in report[1:]] == ["#DIV/0!", "#N/A"]
    from openpyxl import load_workbook

    sheet = load_workbook(summary.report_xlsx or "").active
    assert sheet is not None
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["#DIV/0!", "#N/A"]


def test_error_cells__templates_and_expressions_refuse_them() -> None:
    from hub.mapping import RecordMappingError, compile_mapping
    from hub.mapping.spec import parse_spec

    mapping = compile_mapping(parse_spec({"fields": {
        "external_ref": {"template": "legacy:{{ 工单号 }}", "required": True},
        "doubled": {"expr": "金额 * 2"}}}), name="t")

    with pytest.raises(RecordMappingError) as caught:
        mapping({"工单号": ExcelError("#N/A"), "金额": ExcelError("#DIV/0!")}, row=7)

    messages = {error.field: error.message for error in caught.value.errors}
    assert "the spreadsheet error #N/A cannot be written as text" in messages["external_ref"]
    assert "the spreadsheet error #DIV/0!" in messages["doubled"]
