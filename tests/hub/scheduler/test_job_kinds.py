"""Jobs of the other kinds run by the scheduler's runner: an import job takes the files that
arrived (once each), a write-back or enrichment job with nothing owed records no run."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from hub.runtime import Hub
from hub.scheduler.run import run_job
from hub.store.models import Customer, Run

HEADERS = ["客户编号", "客户名称", "公司", "手机号", "邮箱", "客户等级", "省份", "城市", "账户余额",
           "注册日期"]


def _drop(folder: Path, name: str, first: int, count: int) -> None:
    with (folder / name).open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i in range(first, first + count):
            writer.writerow([f"c{i:06d}", f"客户{i}", "某某公司", f"1380000{i:04d}",
                             f"u{i}@example.cn", "普通", "浙江省", "杭州市", "10.00",
                             "2023-01-01"])


async def test_import_job_takes_each_new_file_once(jobs_hub: Callable[..., Hub],
                                                   tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    hub = jobs_hub(f"""\
        inbox:
          kind: import
          path: "{inbox}/*.csv"
          mapping: import_customers
          schedule: {{every: 5m}}
        """)
    hub.settings.imports_dir = tmp_path / "imports"
    _drop(inbox, "monday.csv", 1, 20)
    first = await run_job(hub, "inbox", trigger="schedule")
    _drop(inbox, "tuesday.csv", 21, 5)
    second = await run_job(hub, "inbox", trigger="schedule")
    assert (first.status, first.detail["imported"], first.detail["rows"]) == ("succeeded", 1, 20)
    assert (second.detail["imported"], second.detail["already"], second.detail["rows"]) == (
        1, 1, 5)
    with hub.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 25
        runs = session.scalars(sa.select(Run).where(Run.job == "inbox")).all()
    assert [(r.kind, r.trigger, r.status, r.read) for r in runs] == [
        ("import", "schedule", "succeeded", 20), ("import", "schedule", "succeeded", 5)]


async def test_nothing_owed_records_no_run(jobs_hub: Callable[..., Hub]) -> None:
    hub = jobs_hub("""\
        enrichment:
          kind: enrich
          connection: crm
          mapping: crm_customer
          schedule: {every: 15s}
        """)
    outcome = await run_job(hub, "enrichment", trigger="schedule")
    assert (outcome.status, outcome.run_id) == ("idle", None)
    with hub.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Run)) == 0
