"""`hub demo`: the whole hub on embedded defaults — the CRM, DingTalk and WeCom sandboxes, a
fresh SQLite store."""

from __future__ import annotations

import asyncio
import os
import secrets
import string
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.markup import escape

from connectors.confluence.sandbox import create_app as create_confluence_sandbox
from connectors.crm.sandbox import create_app as create_crm_sandbox
from connectors.dingtalk.sandbox import create_app as create_dingtalk_sandbox
from connectors.kingdee.sandbox import create_app as create_kingdee_sandbox
from connectors.sdk.sandbox import serve
from connectors.wecom.sandbox import create_app as create_wecom_sandbox
from hub.cli.render.notify import firings_table, notify_summary
from hub.cli.render.runs import run_summary
from hub.cli.render.tickets import ticket_panel, tickets_table
from hub.core.settings import Settings
from hub.demo.console import console_section
from hub.demo.imports import import_sample
from hub.demo.jobs import scheduler_section
from hub.demo.writeback import writeback_section
from hub.notify.engine import check_overdue, recent_firings
from hub.runtime import Hub
from hub.sync import run_pull
from hub.tickets import TicketCreate, TicketPublic, create_ticket, get_ticket
from hub.tickets.inbound import WebhookRejectedError, receive_webhook

__all__ = ["run_demo"]


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _showcase_vip(sandbox: Any) -> dict[str, Any]:
    """A 钻石 customer with a rich history, preferring one whose mobile is written messily."""
    vips = [c for c in sandbox.customers if c["level"] == "钻石"]

    def richness(customer: dict[str, Any]) -> tuple[bool, bool, int]:
        history = sandbox.history(customer["id"])
        return (bool(history["orders"]) and bool(history["interactions"]),
                not customer["contact"]["mobile"].isdigit(), len(history["orders"]))

    return max(vips, key=richness)


def _demo_tickets(sandbox: Any) -> list[TicketCreate]:
    vip = _showcase_vip(sandbox)
    gold = next(c for c in sandbox.customers if c["level"] == "金卡" and c["contact"]["email"])
    return [
        TicketCreate(subject="扫地机器人无法回充，已重启两次", channel="phone",
                     description="客户反映 X10 回不到充电座，指示灯闪红。要求上门或换新。",
                     contact_name=vip["name"], contact_mobile=vip["contact"]["mobile"]),
        TicketCreate(subject="申请退款：净水器滤芯重复下单", channel="email",
                     description="同一订单滤芯被扣款两次，申请退还一份。",
                     contact_name=gold["name"], contact_email=gold["contact"]["email"]),
        TicketCreate(subject="发票抬头开错，需要重开", channel="web",
                     contact_name="陌生访客", contact_mobile="139 0000 0000"),
    ]


def _key(length: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


@dataclass
class _Messengers:
    """The DingTalk and WeCom sandboxes of one demo run, and the environment hub.yaml reads."""

    dingtalk: Any
    wecom: Any
    robot_token: str
    env: dict[str, str]


def _messengers(stack: ExitStack) -> _Messengers:
    """Serve both messengers' sandboxes with fresh credentials (hub.yaml reads them from the
    environment, like the CRM's)."""
    dt_key, dt_secret, robot_token = _key(16), _key(24), _key(32)
    robot_secret, dt_token, dt_aes = "SEC" + _key(40), _key(16), _key(43)
    dingtalk = create_dingtalk_sandbox(
        app_key=dt_key, app_secret=dt_secret, robots={robot_token: robot_secret},
        callback={"token": dt_token, "aes_key": dt_aes, "owner_key": dt_key})
    wc_secret, wc_robot, wc_token, wc_aes = _key(24), _key(24), _key(16), _key(43)
    wecom = create_wecom_sandbox(corp_secret=wc_secret, robots={"ops": wc_robot},
                                 callback_token=wc_token, callback_aes_key=wc_aes)
    dingtalk_url, wecom_url = stack.enter_context(serve(dingtalk)), stack.enter_context(
        serve(wecom))
    env = {
        "HUB_MESSAGING": "on",
        "DINGTALK_BASE_URL": dingtalk_url, "DINGTALK_APP_KEY": dt_key,
        "DINGTALK_APP_SECRET": dt_secret, "DINGTALK_AGENT_ID": str(
            dingtalk.state.sandbox.agent_id),
        "DINGTALK_OPS_ROBOT_TOKEN": robot_token, "DINGTALK_OPS_ROBOT_SECRET": robot_secret,
        "DINGTALK_CALLBACK_TOKEN": dt_token, "DINGTALK_CALLBACK_AES_KEY": dt_aes,
        "WECOM_BASE_URL": wecom_url, "WECOM_CORP_ID": wecom.state.sandbox.corp_id,
        "WECOM_CORP_SECRET": wc_secret, "WECOM_AGENT_ID": str(wecom.state.sandbox.agent_id),
        "WECOM_OPS_ROBOT_KEY": wc_robot, "WECOM_CALLBACK_TOKEN": wc_token,
        "WECOM_CALLBACK_AES_KEY": wc_aes,
    }
    return _Messengers(dingtalk=dingtalk, wecom=wecom, robot_token=robot_token, env=env)


def _show_notifications(console: Console, hub: Hub, messengers: _Messengers) -> None:
    console.print(firings_table(list(reversed(recent_firings(hub)))))
    for post in messengers.dingtalk.state.sandbox.robots[messengers.robot_token].posted:
        card = post.get("actionCard") or {}
        console.print(f"DingTalk group robot 'ops' received a card: "
                      f"[bold]{escape(str(card.get('title')))}[/] → "
                      f"{escape(str(card.get('singleURL')))}")


async def _inbound(console: Console, hub: Hub, messengers: _Messengers) -> TicketPublic | None:
    """A WeCom member's urgent message, pushed encrypted as WeCom does, becomes a ticket."""
    callback = messengers.wecom.state.callbacks.text(
        sender="wangwu", content="紧急：净水器漏水，厨房地面全湿了，请尽快派人上门")
    result = await receive_webhook(hub, "wecom", method=callback.method, query=callback.query,
                                   body=callback.body)
    if result.after is not None:
        await result.after()  # the API runs this after answering WeCom
    console.print(f"POST /webhooks/wecom (signed, AES-encrypted) → {result.reply.status_code}, "
                  f"{result.outcome}: ticket #{result.ticket_id}")
    try:
        await receive_webhook(hub, "wecom", method=callback.method, query=callback.query,
                              body=callback.body)
    except WebhookRejectedError as exc:
        console.print(f"The same callback replayed → {exc.http_status} ({exc.reason}), audited.")
    for message in messengers.wecom.state.sandbox.inbox("zhangsan"):
        console.print(f"WeCom app message to zhangsan ({message.msgtype}): "
                      f"[bold]{escape(str(message.content.get('title')))}[/] → "
                      f"{escape(str(message.content.get('url')))}")
    return get_ticket(hub, result.ticket_id) if result.ticket_id is not None else None


def _show_suggestions(console: Console, hub: Hub, ticket: TicketPublic) -> None:
    """Pull the knowledge base from the Confluence sandbox, then what `?expand=kb` shows."""
    console.print(run_summary(asyncio.run(run_pull(hub, "kb_articles", trigger="demo"))))
    expanded = get_ticket(hub, ticket.id, expand=["kb"])
    console.print(f"GET /tickets/{ticket.id}?expand=kb — 「{escape(ticket.subject)}」:")
    for article in expanded.kb or []:
        console.print(f"  {article.score:.2f}  [bold]{escape(article.title)}[/]")
        console.print(f"        [dim]{escape(_one_line(article.snippet, console.width - 8))}[/]")
    if not expanded.kb:
        console.print("  (no article matches)")


def _one_line(text: str, cells: int) -> str:
    """`text` on one line of at most `cells` terminal cells (a Chinese character takes two),
    cut with … where it is longer."""
    flat = " ".join(text.split())
    if cell_len(flat) <= cells:
        return flat
    return set_cell_size(flat, cells - 1).rstrip() + "…"


def run_demo(console: Console, *, customers: int, project_root: Path) -> list[TicketPublic]:
    """Pull the CRM, open tickets, show one enriched, then the notify rules and an inbound
    WeCom message at work; returns the first tickets for tests."""
    workdir = Path(tempfile.mkdtemp(prefix="hub-demo-"))
    api_key = secrets.token_urlsafe(24)
    sandbox_app = create_crm_sandbox(api_key=api_key, customers=customers)
    settings = Settings(database_url=f"sqlite:///{workdir / 'hub.db'}",
                        config=project_root / "configs" / "hub.yaml",
                        mappings_dir=project_root / "mappings",
                        imports_dir=workdir / "imports")
    with ExitStack() as stack:
        base_url, messengers = _start_sandboxes(stack, sandbox_app, api_key)
        hub = Hub(settings)
        try:
            hub.upgrade_db()
            console.print(f"[bold]Hub demo[/] — store {workdir / 'hub.db'}, "
                          f"CRM sandbox at {base_url} ({customers} customers)\n")
            tickets = _tour(console, hub, sandbox_app.state.sandbox, messengers, workdir)
            console.rule("12 · The operations console")
            console_section(console, hub, workdir, project_root)
            return tickets
        finally:
            hub.close()


def _start_sandboxes(stack: ExitStack, crm_app: Any, api_key: str) -> tuple[str, _Messengers]:
    """Serve the vendors' sandboxes until `stack` closes, and point hub.yaml's variables at
    them; the CRM's base URL and the messengers."""
    base_url = stack.enter_context(serve(crm_app))
    messengers = _messengers(stack)
    kb_url = stack.enter_context(serve(create_confluence_sandbox(
        email="kb-bot@example.com", api_token=api_key, space_key="KB")))
    kingdee_url = stack.enter_context(serve(create_kingdee_sandbox(latency_ms=0)))
    stack.enter_context(_environment(CRM_BASE_URL=base_url, CRM_API_KEY=api_key,
                                     KINGDEE_BASE_URL=f"{kingdee_url}/k3cloud/",
                                     KB_BASE_URL=kb_url, KB_EMAIL="kb-bot@example.com",
                                     KB_API_TOKEN=api_key, KB_SPACE_KEY="KB",
                                     **messengers.env))
    return base_url, messengers


def _tour(console: Console, hub: Hub, sandbox: Any, messengers: _Messengers,
          workdir: Path) -> list[TicketPublic]:
    """The demo's sections, in order; the tickets of section 2."""
    console.rule("1 · Pull customers from the CRM")
    _pull_section(console, hub, sandbox)
    console.rule("2 · Tickets arrive and are enriched")
    tickets = [asyncio.run(create_ticket(hub, data, actor="demo"))
               for data in _demo_tickets(sandbox)]
    console.print(tickets_table(tickets))
    console.rule("3 · What the agent sees")
    console.print(ticket_panel(tickets[0]))
    console.rule("4 · Knowledge base: articles suggested for the ticket")
    _show_suggestions(console, hub, tickets[0])
    console.rule("5 · Notify rules: the vip customer's ticket and the refund")
    _show_notifications(console, hub, messengers)
    console.rule("6 · An urgent WeCom message becomes a ticket")
    asyncio.run(_inbound(console, hub, messengers))
    console.rule("7 · Two hours later: the SLA check (hub notify check-overdue)")
    later = datetime.now(UTC) + timedelta(hours=2, minutes=5)
    console.print(notify_summary(asyncio.run(check_overdue(hub, now=later, actor="demo"))))
    console.rule("8 · Import a spreadsheet from the old system")
    import_sample(console, hub, workdir)
    console.rule("9 · Resolved: refund and spare parts written to the ERP, exactly once")
    writeback_section(console, hub, tickets)
    console.rule("10 · Jobs on a timetable (hub scheduler)")
    scheduler_section(console, hub)
    console.rule("11 · Audit trail")
    verdict = hub.audit.verify()
    console.print(f"{verdict.checked} audit rows, hash chain "
                  f"{'[green]intact[/]' if verdict.ok else '[red]BROKEN[/]'} "
                  "(hub audit verify); every CRM call and data change is in it.")
    return tickets


def _pull_section(console: Console, hub: Hub, sandbox: Any) -> None:
    """A full pull, then a customer changed in the CRM and the incremental pull that
    follows."""
    console.print(run_summary(asyncio.run(run_pull(hub, "crm_customers", trigger="demo"))))
    changed = next(c for c in sandbox.customers if c["level"] == "普通")
    sandbox.update_customer(changed["id"], {"level": "钻石"})
    console.print(f"{changed['name']} was upgraded to 钻石 in the CRM (the hub's tier vip); "
                  "the next run pulls only what changed:")
    console.print(run_summary(asyncio.run(run_pull(hub, "crm_customers", trigger="demo"))))
