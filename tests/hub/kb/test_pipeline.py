"""Knowledge base end to end: Confluence sandbox → pull job → index → suggestions on tickets."""

from __future__ import annotations

from typing import Any

from hub.kb import search_articles
from hub.runtime import Hub
from hub.sync import run_pull
from hub.tickets import TicketCreate, create_ticket, get_ticket


async def test_kb__pulled_articles_answer_chinese_queries(kb_hub: tuple[Hub, Any],
                                                          audit_text: Any) -> None:
    hub, sandbox = kb_hub

    summary = await run_pull(hub, "kb_articles")
    again = await run_pull(hub, "kb_articles")

    assert summary.status == "succeeded" and summary.created == len(sandbox.store.pages()) > 40
    assert again.created == 0
    hits = search_articles(hub, "打印机卡纸", limit=3)
    assert hits and hits[0].title == "打印机频繁卡纸的处理方法"
    assert "【" in hits[0].snippet
    assert "kb-token" not in audit_text(hub)


async def test_kb__ticket_expand_kb_over_the_api(kb_hub: tuple[Hub, Any],
                                                  api_client: Any) -> None:
    hub, _sandbox = kb_hub
    await run_pull(hub, "kb_articles")
    ticket = await create_ticket(hub, TicketCreate(subject="我家打印机老是卡纸怎么办",
                                                   channel="web"), actor="test")

    with api_client(hub) as api:
        plain = api.get(f"/tickets/{ticket.id}").json()
        expanded = api.get(f"/tickets/{ticket.id}", params={"expand": "customer,kb"}).json()
        wrong = api.get(f"/tickets/{ticket.id}", params={"expand": "kb,shoes"})

    assert plain["kb"] is None
    assert expanded["kb"][0]["title"] == "打印机频繁卡纸的处理方法"
    assert set(expanded["kb"][0]) == {"id", "title", "url", "score", "snippet", "labels"}
    assert wrong.status_code in (400, 422)
    assert "expandable: customer, orders, history, kb" in wrong.json()["detail"]
    assert get_ticket(hub, ticket.id).kb is None
