"""`hub import FILE --mapping NAME`, `hub import resume|show|list` end to end."""

from __future__ import annotations

import csv
from pathlib import Path

from .conftest import CliEnv, Run, workbook_behind_instructions

HEADERS = ["客户编号", "客户名称", "手机号", "客户等级"]


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return path


def test_import__summary_report_then_no_op(env: CliEnv, run: Run) -> None:
    path = write(env.dir / "客户.csv", [["C1", "王芳", "13812345678", "金卡"],
                                   ["C2", "李伟", "123", "黑卡"]])

    code, out, _ = run("import", str(path), "--mapping", "import_customers")

    assert code == 0
    assert "Import 1 of 客户.csv (import_customers@1): partial" in out
    assert "Rejected rows, with every error:" in out and "客户.errors.xlsx" in out
    code, out, _ = run("import", str(path), "-m", "import_customers")
    assert code == 0 and "already imported through import_customers@1 (import 1)" in out
    code, out, _ = run("import", "show", "1")
    assert code == 0 and "partial" in out
    code, out, _ = run("import", "list")
    assert code == 0 and "客户.csv" in out


def test_import__bad_file_is_one_line_exit_2(env: CliEnv, run: Run) -> None:
    path = env.dir / "客户.xlsx"
    path.write_bytes(b"\x00\x01 not a workbook")

    code, _, err = run("import", str(path), "--mapping", "import_customers")

    assert code == 2 and "客户.xlsx" in err and "Traceback" not in err


def test_import__missing_file_and_mapping(env: CliEnv, run: Run) -> None:
    code, _, err = run("import", str(env.dir / "nope.csv"), "--mapping", "import_customers")
    assert code == 3 and "no file" in err
    path = write(env.dir / "a.csv", [])
    code, _, err = run("import", str(path), "--mapping", "nope")
    assert code == 3 and "no mapping 'nope'" in err


def test_import_resume__unknown_id(env: CliEnv, run: Run) -> None:
    code, _, err = run("import", "resume", "42")
    assert code == 3 and "no import 42" in err


def test_import__header_only_file_is_refused_in_one_line(env: CliEnv, run: Run) -> None:
    path = write(env.dir / "只有表头.csv", [])

    code, out, err = run("import", str(path), "--mapping", "import_customers")

    assert code == 2 and "succeeded" not in out
    assert "只有表头.csv" in err and "has no data rows" in err
    assert len(err.strip().splitlines()) == 1


def test_import__says_which_sheet_it_chose(env: CliEnv, run: Run) -> None:
    path = workbook_behind_instructions(env.dir / "客户.xlsx", "请在“客户”表中填写",
                                        [HEADERS, ["C1", "王芳", "13812345678", "金卡"]])

    code, out, _ = run("import", str(path), "--mapping", "import_customers")

    assert code == 0 and "succeeded" in out
    assert "Sheet '客户' chosen: its header row 1 holds 客户编号, 客户名称" in out
