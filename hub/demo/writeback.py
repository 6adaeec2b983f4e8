"""The demo's write-back section: two tickets resolved, their refund and spare parts written to
the Kingdee sandbox through the outbox, a solution published to the KB, then reconciled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.markup import escape

from hub.cli.render.outbox import dispatch_summary, outbox_table, reconcile_view
from hub.core.pages import MAX_LIMIT, every_item
from hub.outbox import DispatchOptions, Resolution, dispatch
from hub.outbox.reconcile import reconcile
from hub.outbox.views import list_rows
from hub.runtime import Hub
from hub.tickets import TicketPublic, get_ticket
from hub.tickets.resolve import resolve_ticket

__all__ = ["writeback_section"]


def writeback_section(console: Console, hub: Hub, tickets: list[TicketPublic]) -> None:
    repair, refund, invoice = tickets[0], tickets[1], tickets[2]
    resolve_ticket(hub, refund.id, Resolution.model_validate({
        "note": "核实重复扣款，退还一份滤芯货款", "customer_number": "C002",
        "refund": {"amount": "129.00", "method": "wire", "reason": "滤芯重复下单"}}),
        actor="demo")
    resolve_ticket(hub, repair.id, Resolution.model_validate({
        "note": "上门更换回充红外模块", "customer_number": "C001",
        "parts": [{"material": "P-1001", "qty": "1"}, {"material": "P-1002", "qty": "2"}],
        "solution": {"title": "扫地机器人无法回充：更换回充红外模块",
                     "problem": "扫地机器人找不到充电座，指示灯闪红，重启无效",
                     "cause": "回充红外接收模块老化",
                     "solution": "清洁充电座触点；仍无效时更换回充红外模块",
                     "product": "X10 扫地机器人", "labels": ["扫地机器人", "回充"]}}),
        actor="demo")
    resolve_ticket(hub, invoice.id, Resolution.model_validate({
        "note": "已作废原发票并按正确抬头重开",
        "solution": {"title": "电子发票抬头开错后如何作废重开",
                     "problem": "客户收到的电子发票抬头或税号有误，需要重开",
                     "cause": "下单时填写的开票信息有误",
                     "solution": "在开票系统中红冲原发票，核对抬头与税号后重新开具并发送邮箱",
                     "product": "电子发票", "labels": ["发票", "财务"]}}), actor="demo")
    console.print(f"POST /tickets/{refund.id}/resolve with a refund of ¥129.00, "
                  f"/tickets/{repair.id}/resolve with two spare parts and a reusable "
                  f"solution, /tickets/{invoice.id}/resolve with a reusable solution: each "
                  "ticket change and its outbox rows commit together.")
    rows = list(every_item(lambda cursor: list_rows(hub, cursor=cursor, limit=MAX_LIMIT)))
    console.print(outbox_table(rows[::-1], title="Outbox before dispatch"))
    summary = asyncio.run(dispatch(hub, options=DispatchOptions(concurrency=4),
                                   trigger="demo"))
    console.print(dispatch_summary(summary))
    for ticket_id in (refund.id, repair.id, invoice.id):
        for writeback in get_ticket(hub, ticket_id).writebacks:
            console.print(f"  ticket #{ticket_id} {writeback.action:<16} → "
                          f"{writeback.connection} [bold]{escape(str(writeback.number))}[/]"
                          f" ({writeback.status})")
    resolution = get_ticket(hub, repair.id).resolution
    link = resolution.kb_link if resolution is not None else None
    if link:
        console.print(f"  ticket #{repair.id} solution: the knowledge base already holds "
                      f"[bold]{escape(link.title)}[/] (similarity {link.score:.2f}); "
                      "linked instead of publishing a near-duplicate page")
    since = datetime.now(UTC) - timedelta(days=1)
    console.print("hub reconcile erp --since yesterday:")
    console.print(reconcile_view(asyncio.run(reconcile(hub, since=since,
                                                       connection="kingdee"))))
