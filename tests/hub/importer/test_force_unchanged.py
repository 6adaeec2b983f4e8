"""`--force` on an unchanged file writes nothing and says so: every row unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.importer.pipeline import ImportOptions, run_import


@pytest.fixture
def hub(imports_hub: Any) -> Any:
    return imports_hub


@pytest.mark.parametrize(("mapping", "sheet"), [("import_customers", "客户"),
                                                ("import_tickets", 1)])
async def test_forced_reimport__of_the_sample_workbook_updates_nothing(
        hub: Any, tmp_path: Path, mapping: str, sheet: str | int) -> None:
    from hub.demo.imports import write_sample_workbook

    workbook = write_sample_workbook(tmp_path / "旧系统导出.xlsx")
    options = ImportOptions(sheet=sheet)
    first = await run_import(hub, workbook, mapping=mapping, options=options, actor="test")
    forced = await run_import(hub, workbook, mapping=mapping, options=options, force=True,
                              actor="test")

    assert forced.created == 0 and forced.updated == 0
    assert forced.unchanged == first.created


async def test_forced_reimport__a_key_twice_in_the_file_is_unchanged_too(
        hub: Any, tmp_path: Path) -> None:
    path = tmp_path / "客户.csv"  # last row wins: C2 and C3 appear twice with other values
    path.write_text("客户编号,客户名称,手机号\n"
                    "C1,王芳,13812345678\nC2,李伟,13812345679\nC3,张三,13812345670\n"
                    "C2,李伟（新）,13812345679\nC3,张三（新）,13812345670\n", encoding="utf-8")

    first = await run_import(hub, path, mapping="import_customers", actor="test")
    forced = await run_import(hub, path, mapping="import_customers", force=True, actor="test")

    assert (first.created, first.updated, first.unchanged) == (3, 2, 0)
    assert (forced.created, forced.updated, forced.unchanged) == (0, 0, 5)
