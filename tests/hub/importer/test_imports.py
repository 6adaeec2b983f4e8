"""Imports end to end on real files and real stores: batches, reports, idempotency, resume."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.errors import InvalidRequestError
from hub.importer.pipeline import (
    ImportOptions,
    get_import,
    list_imports,
    resume_import,
    run_import,
    start_import,
)
from hub.importer.readers import ImportFileError
from hub.runtime import Hub
from hub.store.models import AuditRecord, Customer, Import, ImportReject, Ticket

ROOT = Path(__file__).resolve().parents[3]
HEADERS = ["客户编号", "客户名称", "公司", "手机号", "邮箱", "客户等级", "省份", "城市", "账户余额",
           "注册日期"]


def good_row(i: int) -> list[str]:
    return [f"c{i:06d}", f"客户{i}", "杭州某某科技有限公司", f"+86 138-{i % 10000:04d}-{i % 7:04d}",
            f"user{i}@example.cn", ["普通", "银卡", "金卡", "钻石"][i % 4], "浙江省", "杭州市",
            f"¥{i % 1000},{i % 1000:03d}.50", f"2023年{1 + i % 12}月{1 + i % 28}日"]


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8-sig",
              headers: list[str] = HEADERS) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def customers(hub: Hub) -> dict[str, Customer]:
    with hub.sessions() as session:
        return {c.external_id: c for c in session.scalars(sa.select(Customer))}


@pytest.fixture
def hub(imports_hub: Any) -> Any:
    return imports_hub


async def test_import__good_rows_land_bad_rows_reported(hub: Hub, tmp_path: Path) -> None:
    rows = [good_row(i) for i in range(1, 51)]
    rows[9][3] = "1380013800"          # row 11: a mobile with 10 digits
    rows[9][5] = "黑卡"                 # …and an unknown tier: both reported
    rows[19][0] = ""                    # row 21: no key
    path = write_csv(tmp_path / "客户.csv", rows)

    summary = await run_import(hub, path, mapping="import_customers",
                               options=ImportOptions(batch_size=20), actor="test")

    assert (summary.status, summary.read, summary.created, summary.rejected) == \
        ("partial", 50, 48, 2)
    assert summary.batches == 3
    stored = customers(hub)
    assert len(stored) == 48
    first = stored["C000001"]
    assert (first.source, first.mapping, first.mobile, first.tier) == \
        ("import", "import_customers@1", "13800010001", "silver")
    assert first.attributes["balance"] == "1001.50"
    with hub.sessions() as session:
        rejects = {r.row_number: r for r in session.scalars(sa.select(ImportReject))}
    assert set(rejects) == {11, 21}  # spreadsheet row numbers (the header is row 1)
    messages = {e["column"]: e["message"] for e in rejects[11].errors["errors"]}
    assert set(messages) == {"手机号", "客户等级"}
    assert "1380013800" not in messages["手机号"]  # personal: masked
    assert "'黑卡' is not in the value map" in messages["客户等级"]
    assert summary.report_xlsx and Path(summary.report_xlsx).is_file()
    assert summary.report_csv and Path(summary.report_csv).is_file()
    report = Path(summary.report_csv).read_text(encoding="utf-8-sig")
    assert "客户编号" in report and "黑卡" in report


async def test_import__identical_file_is_a_no_op_unless_forced(hub: Hub, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [good_row(i) for i in range(1, 11)])
    first = await run_import(hub, path, mapping="import_customers", actor="test")

    again = await run_import(hub, path, mapping="import_customers", actor="test")
    forced = await run_import(hub, path, mapping="import_customers", force=True, actor="test")

    assert again.duplicate_of == first.id and again.id == first.id
    assert (forced.id != first.id, forced.created, forced.unchanged) == (True, 0, 10)
    assert len(customers(hub)) == 10


async def test_import__a_failed_import_is_never_taken_up_again(hub: Hub,
                                                               tmp_path: Path) -> None:
    path = write_csv(tmp_path / "客户.csv", [good_row(i) for i in range(1, 11)])
    wrong = ImportOptions(encoding="ascii")
    failures = []
    for _ in range(2):
        with pytest.raises(ImportFileError, match="ascii"):
            await run_import(hub, path, mapping="import_customers", options=wrong,
                             actor="test")
        failures.append(list_imports(hub, limit=1).items[0])

    fixed = await run_import(hub, path, mapping="import_customers", actor="test")
    again = await run_import(hub, path, mapping="import_customers", actor="test")

    assert [(f.id, f.status) for f in failures] == [(1, "failed"), (2, "failed")]
    assert (failures[0].error or "").startswith("客户.csv: ")
    assert (fixed.id, fixed.status, fixed.created) == (3, "succeeded", 10)
    assert again.duplicate_of == fixed.id


async def test_resume__an_interrupted_import_reads_a_new_copy_when_its_own_is_gone(
    hub: Hub, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "a.csv", [good_row(i) for i in range(1, 31)])

    def stop(_summary: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await run_import(hub, path, mapping="import_customers",
                         options=ImportOptions(batch_size=10), actor="test", progress=stop)
    copy = path.rename(tmp_path / "copy.csv")

    started = start_import(hub, copy, mapping="import_customers",
                           options=ImportOptions(batch_size=10), actor="test")
    summary = await resume_import(hub, started.id, actor="test")

    assert started.id == 1 and started.file_path == str(copy.resolve())
    assert (summary.status, summary.read, summary.created) == ("succeeded", 30, 30)


async def test_import__changed_rows_update_never_duplicate(hub: Hub, tmp_path: Path) -> None:
    rows = [good_row(i) for i in range(1, 21)]
    await run_import(hub, write_csv(tmp_path / "v1.csv", rows), mapping="import_customers",
                     actor="test")
    rows[4][1] = "改名后的客户"
    rows.append(good_row(21))
    rows.append(good_row(3))  # the same customer twice in one file

    summary = await run_import(hub, write_csv(tmp_path / "v2.csv", rows),
                               mapping="import_customers", actor="test")

    assert (summary.created, summary.updated, summary.unchanged) == (1, 1, 20)
    stored = customers(hub)
    assert len(stored) == 21 and stored["C000005"].name == "改名后的客户"


async def test_import__missing_required_column_fails_before_any_row(hub: Hub,
                                                                    tmp_path: Path) -> None:
    headers = [h for h in HEADERS if h != "客户名称"]
    path = write_csv(tmp_path / "缺列.csv", [good_row(1)[:1] + good_row(1)[2:]], headers=headers)

    with pytest.raises(ImportFileError, match="missing required column.*客户名称"):
        await run_import(hub, path, mapping="import_customers", actor="test")

    assert customers(hub) == {}
    with hub.sessions() as session:
        assert session.scalars(sa.select(Import.status)).one() == "failed"


async def test_import__gb18030_csv_with_semicolons(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADERS)
        writer.writerows(good_row(i) for i in range(1, 6))

    summary = await run_import(hub, path, mapping="import_customers", actor="test")

    assert (summary.status, summary.created) == ("succeeded", 5)
    assert customers(hub)["C000002"].name == "客户2"


async def test_import__historical_tickets(hub: Hub, tmp_path: Path) -> None:
    headers = ["工单号", "标题", "描述", "问题分类", "状态", "优先级", "联系人", "联系电话", "渠道",
               "创建时间"]
    rows = [["T-1", "打印机卡纸", "纸张卡在进纸口", "维修", "已解决", "高", "王芳", "13812345678",
             "电话", "2024-03-05 14:30"],
            ["T-2", "申请退款", "", "退款", "已关闭", "普通", "李伟", "", "微信", "2024/3/6"],
            ["T-3", "坏行", "", "不存在的分类", "已关闭", "", "", "", "", "明天"]]
    path = write_csv(tmp_path / "工单.csv", rows, headers=headers)

    summary = await run_import(hub, path, mapping="import_tickets", actor="test")
    again = await run_import(hub, path, mapping="import_tickets", force=True, actor="test")

    assert (summary.created, summary.rejected) == (2, 1)
    assert (again.created, again.unchanged, again.rejected) == (0, 2, 1)
    with hub.sessions() as session:
        tickets = {t.external_ref: t for t in session.scalars(sa.select(Ticket))}
        errors = session.scalars(sa.select(ImportReject.errors)).first()
    assert set(tickets) == {"legacy:T-1", "legacy:T-2"}
    first = tickets["legacy:T-1"]
    assert (first.category, first.status, first.priority, first.channel, first.contact_mobile) \
        == ("repair", "resolved", "high", "phone", "13812345678")
    assert first.enrichment_status == "skipped"
    assert errors is not None
    assert {e["column"] for e in errors["errors"]} == {"问题分类", "创建时间"}


async def test_import__audit_one_row_per_batch(hub: Hub, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [good_row(i) for i in range(1, 26)])

    summary = await run_import(hub, path, mapping="import_customers",
                               options=ImportOptions(batch_size=10), actor="cli:alice")

    with hub.sessions() as session:
        rows = session.scalars(sa.select(AuditRecord).where(
            AuditRecord.target == f"import:{summary.id}").order_by(AuditRecord.seq)).all()
    assert [r.action for r in rows] == ["import.start", "import.batch", "import.batch",
                                        "import.batch", "import.finish"]
    assert {r.actor for r in rows} == {"cli:alice"}
    assert rows[0].detail["file"] == "a.csv" and len(rows[0].detail["sha256"]) == 64
    assert rows[1].detail["rows"] == [2, 11]
    assert rows[-1].outcome == "succeeded"
    assert hub.audit.verify().ok


async def test_resume__an_interrupted_import_goes_on_from_its_checkpoint(
    hub: Hub, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "a.csv", [good_row(i) for i in range(1, 31)])
    calls = 0

    def stop_after_two_batches(_summary: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await run_import(hub, path, mapping="import_customers",
                         options=ImportOptions(batch_size=10), actor="test",
                         progress=stop_after_two_batches)
    interrupted = get_import(hub, 1)
    assert (interrupted.status, interrupted.checkpoint_row, len(customers(hub))) == \
        ("interrupted", 21, 20)

    summary = await resume_import(hub, interrupted.id, actor="test")

    assert (summary.status, summary.read, summary.created) == ("succeeded", 30, 30)
    assert len(customers(hub)) == 30


async def test_resume__refuses_a_changed_file(hub: Hub, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [good_row(i) for i in range(1, 31)])

    def stop(_summary: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await run_import(hub, path, mapping="import_customers",
                         options=ImportOptions(batch_size=10), actor="test", progress=stop)
    write_csv(path, [good_row(i) for i in range(1, 5)])

    with pytest.raises(InvalidRequestError, match="has changed"):
        await resume_import(hub, 1, actor="test")


@pytest.mark.slow
def test_kill_9_mid_import_then_rerun__no_gap_no_duplicate(tmp_path: Path) -> None:
    """A real `hub import` process is SIGKILLed after some batches committed; the same
    command run again finishes the import: every row once, the same import id."""
    rows = 20_000
    path = write_csv(tmp_path / "big.csv", [good_row(i) for i in range(1, rows + 1)])
    database = tmp_path / "hub.db"
    env = {**os.environ, "HUB_DATABASE_URL": f"sqlite:///{database}",
           "HUB_MAPPINGS_DIR": str(ROOT / "mappings"), "HUB_CONFIG": str(ROOT / "configs/hub.yaml"),
           "HUB_IMPORTS_DIR": str(tmp_path / "imports"), "COLUMNS": "200"}
    command = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main(sys.argv[1:]))",
               "import", str(path), "--mapping", "import_customers"]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        deadline = time.monotonic() + 120
        checkpoint = 0
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with engine.connect() as connection:
                    checkpoint = connection.execute(
                        sa.text("SELECT checkpoint_row FROM imports")).scalar() or 0
            except sa.exc.OperationalError:
                checkpoint = 0  # not created yet
            if checkpoint >= 4000:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the import finished before it could be killed"
        workers = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        assert len(workers) == 1  # a file of 1 MiB on is read and mapped in a worker
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        _ends(int(workers[0]))  # its pipe closed, the worker ends too
        with engine.connect() as connection:
            done = connection.execute(sa.text("SELECT COUNT(*) FROM customers")).scalar()
            status = connection.execute(sa.text("SELECT status FROM imports")).scalar()
        assert status == "running" and 0 < done < rows

        result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                                timeout=300)

        assert result.returncode == 0, result.stderr
        with engine.connect() as connection:
            count, distinct = connection.execute(sa.text(
                "SELECT COUNT(*), COUNT(DISTINCT external_id) FROM customers")).one()
            imports = connection.execute(sa.text("SELECT id, status, read FROM imports")).all()
        assert count == distinct == rows
        assert [(status, read) for _, status, read in imports] == [("succeeded", rows)]
    finally:
        if process.poll() is None:
            process.kill()
        engine.dispose()


def _ends(pid: int, timeout: float = 30) -> None:
    """Wait for process `pid` to exit (a zombie counts: nobody may reap an orphan)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still runs")


def write_xlsx(path: Path, rows: list[list[Any]], *, headers: list[str] = HEADERS,
               sheet: str = "客户") -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet
    worksheet.append(["客户名单（导出自旧系统）"])  # a title row above the headers
    worksheet.append(headers)
    for row in rows:
        worksheet.append(row)
    workbook.save(path)
    return path


async def test_import__xlsx_then_the_corrected_report_completes_the_data(
    hub: Hub, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    rows: list[list[Any]] = [good_row(i) for i in range(1, 41)]
    rows[2][3] = "12345"                     # bad mobile
    rows[7][4] = "user8@"                    # bad email
    rows[7][1] = "-@客户8"                    # risky text: neutralised in the report
    rows[11][8] = "很多钱"                    # bad amount
    rows[20][9] = 45356                      # an Excel serial date is fine: 2024-03-05
    path = write_xlsx(tmp_path / "客户.xlsx", rows)

    first = await run_import(hub, path, mapping="import_customers", actor="test")

    assert (first.status, first.created, first.rejected) == ("partial", 37, 3)
    assert str(customers(hub)["C000021"].attributes["registered_on"]) == "2024-03-05"
    assert first.report_xlsx is not None
    report = load_workbook(first.report_xlsx)
    sheet = report.active
    assert sheet is not None
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = table[0]
    assert header[: len(HEADERS)] == HEADERS
    by_key = {row[0]: row for row in table[1:]}
    assert set(by_key) == {"c000003", "c000008", "c000012"}
    risky = next(c for c in sheet.iter_rows(min_row=2) if c[0].value == "c000008")[1]
    assert (risky.value, risky.data_type, risky.quotePrefix) == ("'-@客户8", "s", True)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    csv_report = Path(first.report_csv or "").read_text(encoding="utf-8-sig")
    assert "'-@客户8" in csv_report  # CSV has no cell types: a quote keeps Excel from evaluating
    fixes = {"c000003": (3, "13800030003"), "c000008": (4, "user8@example.cn"),
             "c000012": (8, "¥12.50")}
    for row in sheet.iter_rows(min_row=2):
        column, value = fixes[row[0].value]
        row[column].value = value
    fixed = tmp_path / "客户.errors.fixed.xlsx"
    report.save(fixed)

    second = await run_import(hub, fixed, mapping="import_customers", actor="test")

    assert (second.status, second.created, second.rejected) == ("succeeded", 3, 0)
    assert len(customers(hub)) == 40
    assert customers(hub)["C000012"].attributes["balance"] == "12.50"
    assert customers(hub)["C000008"].name == "-@客户8"  # the report's quote is undone


async def test_import__fixed_csv_report_restores_neutralised_text(hub: Hub,
                                                                  tmp_path: Path) -> None:
    rows = [good_row(i) for i in range(1, 4)]
    rows[1][1] = "=1+2 公司"
    rows[1][3] = "123"
    first = await run_import(hub, write_csv(tmp_path / "a.csv", rows),
                             mapping="import_customers", actor="test")
    report = Path(first.report_csv or "")
    text = report.read_text(encoding="utf-8-sig")
    assert "'=1+2 公司" in text
    fixed = tmp_path / "a.errors.fixed.csv"
    fixed.write_text(text.replace(",123,", ",13900000002,"), encoding="utf-8-sig")

    second = await run_import(hub, fixed, mapping="import_customers", actor="test")

    assert (second.created, second.rejected) == (1, 0)
    assert customers(hub)["C000002"].name == "=1+2 公司"


async def test_import__two_sheets_of_one_workbook_are_two_imports(hub: Hub,
                                                                  tmp_path: Path) -> None:
    from hub.demo.imports import write_sample_workbook

    workbook = write_sample_workbook(tmp_path / "旧系统导出.xlsx")

    customers_import = await run_import(hub, workbook, mapping="import_customers",
                                        options=ImportOptions(sheet="客户"), actor="test")
    tickets_import = await run_import(hub, workbook, mapping="import_tickets",
                                      options=ImportOptions(sheet=1), actor="test")
    again = await run_import(hub, workbook, mapping="import_customers",
                             options=ImportOptions(sheet="客户"), actor="test")

    assert (customers_import.created, customers_import.rejected) == (27, 3)
    assert (tickets_import.created, tickets_import.rejected) == (18, 2)
    assert again.duplicate_of == customers_import.id


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_import__a_header_only_file_is_refused(hub: Hub, tmp_path: Path,
                                                     kind: str) -> None:
    path = write_csv(tmp_path / "空.csv", []) if kind == "csv" else \
        write_xlsx(tmp_path / "空.xlsx", [])

    with pytest.raises(ImportFileError, match=r"^空\.(csv|xlsx): has no data rows") as caught:
        await run_import(hub, path, mapping="import_customers", actor="test")

    assert "\n" not in str(caught.value)
    failed = list_imports(hub, limit=1).items[0]
    assert (failed.status, failed.read) == ("failed", 0)
    assert failed.error is not None and failed.error.startswith(f"空.{kind}: has no data rows")
