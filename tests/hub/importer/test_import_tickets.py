"""Historical tickets land as the ticket answers them: the contact under `contact_mobile`
(a mapping written with the old name `mobile` still works, deprecated) and the legacy
system's statuses as the hub's own."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pytest
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


ORDER_MAPPING = """\
target: ticket
version: 1
key: external_ref
fields:
  external_ref: {template: "legacy:{{ 工单号 }}", required: true}
  description: {path: 描述}
  order_amount: {path: 订单金额, type: decimal}
  refund_amount: {path: 退款金额, type: decimal}
  called_back: {path: 已回访, type: bool}
  created_at: {path: 创建时间, type: datetime}
"""
ORDER_ROWS = [["工单号", "描述", "订单金额", "退款金额", "已回访", "创建时间"],
              ["T-1", "屏幕坏了", "¥1,299.00", "", "是", "2024-03-05 14:30"],
              ["T-2", "要发票", "88", "88", "否", ""]]


def _hub_with(database_url: str, make_hub: Any, tmp_path: Path, name: str, text: str) -> Any:
    folder = tmp_path / "mappings"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    hub = make_hub(database_url, mappings_dir=folder)
    hub.settings.imports_dir = tmp_path / "imports"
    return hub


async def test_import__ticket_fields_without_a_column_are_kept_in_attributes(
        database_url: str, make_hub: Any, tmp_path: Path) -> None:
    from hub.tickets.schemas import public_fields

    hub = _hub_with(database_url, make_hub, tmp_path, "orders", ORDER_MAPPING)
    path = tmp_path / "工单.csv"  # no 标题 column: the mapping needs no made-up subject
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(ORDER_ROWS)
    try:
        first = await run_import(hub, path, mapping="orders", actor="test")
        forced = await run_import(hub, path, mapping="orders", force=True, actor="test")
        with hub.sessions() as session:
            stored = {t.external_ref: t for t in session.scalars(sa.select(Ticket))}
            views = {ref: public_fields(t) for ref, t in stored.items()}
    finally:
        hub.close()

    assert (first.created, first.rejected) == (2, 0)
    assert (forced.updated, forced.unchanged) == (0, 2)
    one, two = stored["legacy:T-1"], stored["legacy:T-2"]
    assert one.attributes == {"order_amount": "1299.00", "refund_amount": None,
                              "called_back": True}
    assert two.attributes == {"order_amount": "88", "refund_amount": "88",
                              "called_back": False}
    assert (one.subject, two.subject) == ("", "")
    assert one.created_at is not None and two.created_at is None  # never the import's time
    assert views["legacy:T-2"]["created_at"] == two.updated_at  # the API's time is never empty


async def test_import__a_field_the_ticket_would_drop_is_refused(
        database_url: str, make_hub: Any, tmp_path: Path) -> None:
    from hub.errors import InvalidRequestError

    text = ORDER_MAPPING + "  customer_id: {path: 客户编号}\n"
    hub = _hub_with(database_url, make_hub, tmp_path, "orders", text)
    path = tmp_path / "工单.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(ORDER_ROWS)
    try:
        with pytest.raises(InvalidRequestError,
                           match=r"mapping 'orders' \(ticket\): field 'customer_id' names a "
                                 r"ticket column an import never writes"):
            await run_import(hub, path, mapping="orders", actor="test")
    finally:
        hub.close()
