"""`hub demo`: the whole hub on embedded defaults — the CRM sandbox, a fresh SQLite store."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console

from connectors.crm.sandbox import create_app as create_crm_sandbox
from connectors.sdk.sandbox import serve

from .render import run_summary, ticket_panel, tickets_table
from .runtime import Hub
from .settings import Settings
from .sync import run_pull
from .tickets import TicketCreate, TicketPublic, create_ticket

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
                     contact_name=vip["name"], mobile=vip["contact"]["mobile"]),
        TicketCreate(subject="申请退款：净水器滤芯重复下单", channel="email",
                     description="同一订单滤芯被扣款两次，申请退还一份。",
                     contact_name=gold["name"], email=gold["contact"]["email"]),
        TicketCreate(subject="发票抬头开错，需要重开", channel="web",
                     contact_name="陌生访客", mobile="139 0000 0000"),
    ]


def run_demo(console: Console, *, customers: int, project_root: Path) -> list[TicketPublic]:
    """Pull the CRM, open tickets, show one enriched; returns the tickets for tests."""
    workdir = Path(tempfile.mkdtemp(prefix="hub-demo-"))
    api_key = secrets.token_urlsafe(24)
    sandbox_app = create_crm_sandbox(api_key=api_key, customers=customers)
    sandbox = sandbox_app.state.sandbox
    settings = Settings(database_url=f"sqlite:///{workdir / 'hub.db'}",
                        config=project_root / "configs" / "hub.yaml",
                        mappings_dir=project_root / "mappings")
    with serve(sandbox_app) as base_url, _environment(CRM_BASE_URL=base_url,
                                                      CRM_API_KEY=api_key):
        hub = Hub(settings)
        try:
            hub.upgrade_db()
            console.print(f"[bold]Hub demo[/] — store {workdir / 'hub.db'}, "
                          f"CRM sandbox at {base_url} ({customers} customers)\n")
            console.rule("1 · Pull customers from the CRM")
            console.print(run_summary(asyncio.run(run_pull(hub, "crm_customers",
                                                            trigger="demo"))))
            changed = next(c for c in sandbox.customers if c["level"] == "普通")
            sandbox.update_customer(changed["id"], {"level": "钻石"})
            console.print(f"{changed['name']} was upgraded to 钻石 in the CRM; the next run "
                          "pulls only what changed:")
            console.print(run_summary(asyncio.run(run_pull(hub, "crm_customers",
                                                            trigger="demo"))))
            console.rule("2 · Tickets arrive and are enriched")
            tickets = [asyncio.run(create_ticket(hub, data, actor="demo"))
                       for data in _demo_tickets(sandbox)]
            console.print(tickets_table(tickets))
            console.rule("3 · What the agent sees")
            console.print(ticket_panel(tickets[0]))
            console.rule("4 · Audit trail")
            verdict = hub.audit.verify()
            console.print(f"{verdict.checked} audit rows, hash chain "
                          f"{'[green]intact[/]' if verdict.ok else '[red]BROKEN[/]'} "
                          "(hub audit verify); every CRM call and data change is in it.")
            return tickets
        finally:
            hub.close()
