"""The demo's spreadsheet: customers and historical tickets, a few rows deliberately wrong."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.console import Console

from hub.cli.render.imports import import_summary
from hub.importer.pipeline import ImportOptions, run_import
from hub.runtime import Hub

__all__ = ["import_sample", "write_sample_workbook"]

CUSTOMER_HEADERS = ["客户编号", "客户名称", "公司", "手机号", "邮箱", "客户等级", "省份", "城市",
                    "账户余额", "注册日期"]
TICKET_HEADERS = ["工单号", "标题", "描述", "问题分类", "状态", "优先级", "联系人", "联系电话",
                  "渠道", "创建时间"]
_PEOPLE = ["赵敏", "钱伟", "孙丽", "李强", "周杰", "吴芳", "郑浩", "王静", "冯磊", "陈晨"]
_PLACES = [("浙江省", "杭州市"), ("广东省", "深圳市"), ("四川省", "成都市"), ("江苏省", "南京市")]


def _customers() -> list[list[Any]]:
    rows: list[list[Any]] = []
    for i, name in enumerate(_PEOPLE * 3, start=1):
        province, city = _PLACES[i % 4]
        rows.append([f"OLD{i:04d}", f"{name}{i}", f"{city[:2]}某某贸易有限公司",
                     f"+86 139-{i:04d}-{(i * 37) % 10000:04d}", f"old{i}@example.cn",
                     ["普通", "银卡", "金卡", "钻石"][i % 4], province, city,
                     f"¥{i * 1234:,}.00", f"2021年{1 + i % 12}月{1 + i % 27}日"])
    rows[4][3] = "139-0005"             # a mobile number cut short
    rows[11][5] = "黑金卡"               # a tier the mapping does not know
    rows[17][8] = "一千二"               # an amount in words
    rows[17][9] = "去年"                 # …and a date nobody can read
    return rows


def _tickets() -> list[list[Any]]:
    subjects = [("扫地机器人无法回充", "维修"), ("申请退还押金", "退款"),
                ("需要增值税专用发票", "发票"), ("咨询延保政策", "咨询"), ("安装师傅迟到", "投诉")]
    rows: list[list[Any]] = []
    for i in range(1, 21):
        subject, category = subjects[i % 5]
        rows.append([f"T2023{i:04d}", subject, f"历史工单 {i}", category,
                     ["已解决", "已关闭"][i % 2], ["普通", "高", "紧急", "低"][i % 4],
                     _PEOPLE[i % 10], f"139{i:04d}{(i * 37) % 10000:04d}",
                     ["电话", "微信", "邮件", "网页"][i % 4],
                     f"2023-{1 + i % 12:02d}-{1 + i % 27:02d} 10:{i:02d}"])
    rows[6][3] = "售后"                  # a category the mapping does not know
    rows[13][1] = ""                     # a ticket without a title
    return rows


def write_sample_workbook(path: Path) -> Path:
    """An .xlsx with a 客户 sheet (30 customers, 3 bad) and a 历史工单 sheet (20 tickets, 2 bad)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    customers = workbook.active
    assert customers is not None
    customers.title = "客户"
    customers.append(["旧 CRM 导出的客户名单"])
    customers["A1"].font = Font(bold=True, size=14)
    customers.append(CUSTOMER_HEADERS)
    for row in _customers():
        customers.append(row)
    tickets = workbook.create_sheet("历史工单")
    tickets.append(TICKET_HEADERS)
    for row in _tickets():
        tickets.append(row)
    workbook.save(path)
    return path


def import_sample(console: Console, hub: Hub, folder: Path) -> None:
    """Import both sheets of the sample workbook and show the summaries and reports."""
    workbook = write_sample_workbook(folder / "旧系统导出.xlsx")
    console.print(f"Sample workbook: {workbook}")
    for sheet, mapping in (("客户", "import_customers"), ("历史工单", "import_tickets")):
        command = f"hub import {workbook.name} --mapping {mapping} --sheet {sheet}"
        console.print(f"[dim]$ {command}[/]")
        summary = asyncio.run(run_import(hub, workbook, mapping=mapping,
                                         options=ImportOptions(sheet=sheet), actor="demo"))
        console.print(import_summary(summary))
    again = asyncio.run(run_import(hub, workbook, mapping="import_customers",
                                   options=ImportOptions(sheet="客户"), actor="demo"))
    console.print(f"Importing the same file again is a no-op: import {again.id}, "
                  f"{'already imported' if again.duplicate_of else again.status}.")
