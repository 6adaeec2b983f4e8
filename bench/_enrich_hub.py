"""The hub's enrichment for bench/enrich.py, run as a process of its own.

    python bench/_enrich_hub.py URL API_KEY TICKETS_JSON WORKDIR CONCURRENCY CACHE_TTL_S RATE

Writes WORKDIR/hub.yaml: a declarative `rest` connection to the CRM sandbox whose
`customers:` finds a customer by mobile or e-mail and lists their orders and interactions,
and an enrich job on it (the `crm_customer` mapping, the cache TTL given). Each ticket is
created by `create_ticket`, what `POST /tickets` calls: stored with its queue row, then
enriched inline within the job's `inline_wait` (the queue's path otherwise), the notify rules
after it. Tickets left pending are drained as the scheduler would (`drain_enrichment`). The
store is SQLite in WORKDIR. Prints one JSON line (see `report` in bench/_enrich_case.py).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._enrich_case import report, run_tickets  # noqa: E402

CONFIG = """\
version: 1
connections:
  crm:
    type: rest
    description: The CRM sandbox as a customer directory declared in YAML
    config:
      base_url: "{url}"
      auth: {{type: api_key, location: header, name: X-API-Key, key: "{key}"}}
      check_path: /api/v1/customers
      customers:
        find:
          path: /api/v1/customers
          by: {{mobile: {{mobile: "{{mobile}}"}}, email: {{email: "{{email}}"}}}}
          records_path: data
        history:
          orders: {{path: "/api/v1/customers/{{id}}/orders", records_path: data}}
          interactions: {{path: "/api/v1/customers/{{id}}/interactions", records_path: data}}
jobs:
  ticket_enrichment:
    kind: enrich
    connection: crm
    mapping: crm_customer
    match: [mobile, email]
    concurrency: {concurrency}
    cache_ttl: {ttl}
"""


def _results(hub: Any) -> list[tuple[str, float, float | None, int]]:
    from sqlalchemy import select

    from hub.store.models import Ticket

    with hub.sessions() as session:
        rows = session.execute(select(
            Ticket.enrichment_status, Ticket.created_at, Ticket.enriched_at, Ticket.enrichment,
        ).where(Ticket.id > 1).order_by(Ticket.id)).all()  # 1: the warm-up ticket
    return [(status, _epoch(created), _epoch(enriched) if enriched else None,
             len(((enrichment or {}).get("history") or {}).get("orders") or ()))
            for status, created, enriched, enrichment in rows]


def _epoch(at: Any) -> float:
    from hub.core.time import as_utc

    return float(as_utc(at).timestamp())


async def _enrich_all(hub: Any, tickets: list[dict[str, Any]], concurrency: int,
                      rate: float) -> Any:
    from hub.enrichment import drain_enrichment
    from hub.notify.engine import evaluate_enriched
    from hub.tickets.schemas import TicketCreate
    from hub.tickets.service import create_ticket

    async def create(ticket: dict[str, Any]) -> None:
        await create_ticket(hub, TicketCreate(**ticket), actor="bench")

    await create(tickets[0])  # the warm-up ticket (nobody's contact)
    timing = await run_tickets(tickets[1:], create, concurrency, rate)
    while (await drain_enrichment(hub, limit=100, concurrency=concurrency,
                                  then=evaluate_enriched)).claimed:
        pass  # tickets the inline wait left to the queue (none when all went well)
    return timing


def main() -> None:
    url, key, tickets_file, workdir, concurrency, ttl, rate = sys.argv[1:8]
    from hub.core.settings import Settings
    from hub.runtime import Hub

    config = Path(workdir) / "hub.yaml"
    config.write_text(CONFIG.format(url=url, key=key, concurrency=concurrency, ttl=ttl),
                      encoding="utf-8")
    hub = Hub(Settings(database_url=f"sqlite:///{Path(workdir) / 'hub.db'}", config=config,
                       mappings_dir=ROOT / "mappings"))
    hub.upgrade_db()
    tickets = json.loads(Path(tickets_file).read_text(encoding="utf-8"))
    timing = asyncio.run(_enrich_all(hub, tickets, int(concurrency), float(rate)))
    print(report(timing, _results(hub)))
    hub.close()


if __name__ == "__main__":
    main()
