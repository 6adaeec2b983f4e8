"""Historical tickets land as the ticket answers them: the contact under `contact_mobile`
(a mapping written with the old name `mobile` still works, deprecated) and the legacy
system's statuses as the hub's own."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.importer.pipeline import run_import
from hub.store.models import Ticket

ROOT = Path(__file__).resolve().parents[3]
HEADERS = ["工单号", "标题", "描述", "问题分类", "状态", "优先级", "联系人", "联系电话", "渠道",
           "创建时间"]
ROWS = [["T-1", "打印机卡纸", "", "维修", "处理中", "高", "王芳", "13812345678", "电话",
         "2024-03-05 14:30"],
        ["T-2", "申请退款", "", "退款", "已撤销", "", "李伟", "", "", "2024/3/6"]]


def _csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([HEADERS, *ROWS])
    return path


def _tickets(hub: Any) -> dict[str, tuple[Any, ...]]:
    with hub.sessions() as session:
        return {t.external_ref: (t.status, t.priority, t.channel, t.contact_mobile)
                for t in session.scalars(sa.select(Ticket))}


async def test_import__statuses_and_contact_as_the_ticket_names_them(
        hub: Any, tmp_path: Path) -> None:
    summary = await run_import(hub, _csv(tmp_path / "工单.csv"), mapping="import_tickets",
                               actor="test")
    assert (summary.created, summary.rejected) == (2, 0)
    assert _tickets(hub) == {"legacy:T-1": ("open", "high", "phone", "13812345678"),
                             "legacy:T-2": ("closed", "normal", "phone", None)}


async def test_import__a_mapping_with_the_old_contact_name_still_writes_it(
        database_url: str, make_hub: Any, tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", folder)
    path = folder / "import_tickets.yaml"
    text = path.read_text(encoding="utf-8")
    assert "  contact_mobile: {path: 联系电话" in text
    path.write_text(text.replace("  contact_mobile: {path: 联系电话", "  mobile: {path: 联系电话"),
                    encoding="utf-8")
    hub = make_hub(database_url, mappings_dir=folder)
    try:
        await run_import(hub, _csv(tmp_path / "工单.csv"), mapping="import_tickets",
                         actor="test")
        assert _tickets(hub)["legacy:T-1"][3] == "13812345678"
    finally:
        hub.close()


async def test_import__forced_reimport_of_an_unchanged_file_updates_nothing(
        hub: Any, tmp_path: Path) -> None:
    path = _csv(tmp_path / "工单.csv")
    first = await run_import(hub, path, mapping="import_tickets", actor="test")
    forced = await run_import(hub, path, mapping="import_tickets", force=True, actor="test")

    assert (first.created, first.updated) == (2, 0)
    assert (forced.created, forced.updated, forced.unchanged) == (0, 0, 2)
