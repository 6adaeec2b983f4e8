"""Publishing solutions through the outbox to the Confluence sandbox: one page per ticket."""

from __future__ import annotations

from typing import Any

from hub.outbox import DispatchOptions, Resolution, dispatch
from hub.runtime import Hub
from hub.sync import run_pull
from hub.tickets import TicketCreate, create_ticket, get_ticket
from hub.tickets.resolve import reopen_ticket, resolve_ticket


def _solution(title: str, solution: str) -> Resolution:
    return Resolution.model_validate({"note": "已解决", "solution": {
        "title": title, "problem": "扫码枪连接收银软件后没有任何输入 <USB>",
        "cause": "扫码枪处于 HID 以外的模式", "solution": solution, "product": "SC-200 扫码枪",
        "labels": ["扫码枪", "收银"]}})


def _pages_titled(sandbox: Any, title: str) -> list[Any]:
    return [page for page in sandbox.store.pages() if page.title == title]


async def _ticket(hub: Hub) -> int:
    ticket = await create_ticket(hub, TicketCreate(subject="扫码枪扫不出东西", channel="web"),
                                 actor="test")
    return ticket.id


async def test_a_reusable_solution_is_published_once_and_updated_on_re_resolution(
    kb_hub: tuple[Hub, Any], audit_text: Any
) -> None:
    hub, sandbox = kb_hub
    title = "SC-200 扫码枪接收银软件无输入的处理"
    ticket_id = await _ticket(hub)

    [row] = resolve_ticket(hub, ticket_id, _solution(title, "长按设置键 5 秒切回 HID 模式"),
                           actor="agent")
    first = await dispatch(hub, options=DispatchOptions(concurrency=2))
    reopen_ticket(hub, ticket_id, actor="agent")
    resolve_ticket(hub, ticket_id, _solution(title, "扫描说明书第 3 页的 HID 条码"), actor="agent")
    second = await dispatch(hub)

    assert (first.done, second.done, first.dead + second.dead) == (1, 1, 0)
    [page] = _pages_titled(sandbox, title)
    assert page.version == 2 and "HID 条码" in page.body and "&lt;USB&gt;" in page.body
    view = get_ticket(hub, ticket_id)
    [writeback] = view.writebacks
    assert (writeback.id, writeback.status, writeback.number) == (row.id, "done", title)
    assert row.idempotency_key == f"TK{ticket_id:06d}-KB"
    assert "kb-token" not in audit_text(hub)


async def test_a_solution_the_kb_already_holds_is_linked_not_published(
    kb_hub: tuple[Hub, Any]
) -> None:
    hub, sandbox = kb_hub
    await run_pull(hub, "kb_articles")
    before = len(sandbox.store.pages())
    ticket_id = await _ticket(hub)
    resolution = Resolution.model_validate({"solution": {
        "title": "打印机频繁卡纸的处理方法", "problem": "打印机频繁卡纸",
        "solution": "清理搓纸轮，换用干燥的纸张"}})

    rows = resolve_ticket(hub, ticket_id, resolution, actor="agent")

    assert rows == []
    resolution = get_ticket(hub, ticket_id).resolution
    link = resolution.kb_link if resolution is not None else None
    assert link is not None
    assert link.title == "打印机频繁卡纸的处理方法" and link.score >= 0.7
    assert len(sandbox.store.pages()) == before


async def test_a_not_reusable_solution_owes_nothing(kb_hub: tuple[Hub, Any]) -> None:
    hub, _sandbox = kb_hub
    ticket_id = await _ticket(hub)
    resolution = Resolution.model_validate({"solution": {
        "title": "一次性问题", "problem": "p", "solution": "s", "reusable": False}})
    assert resolve_ticket(hub, ticket_id, resolution, actor="agent") == []
