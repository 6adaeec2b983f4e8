"""The hand-written enrichment for bench/enrich.py: httpx + sqlite3, run as a process of its own.

    python bench/_enrich_raw.py URL API_KEY TICKETS_JSON DB_FILE CONCURRENCY CACHE_TTL_S RATE

What a careful person would write for the same job, no more: each ticket is inserted and
committed, its customer is found by mobile or e-mail (`GET /api/v1/customers`), their orders
and interactions are fetched at once (two GETs in parallel), and the ticket's row is updated
with the customer and history as JSON and committed. A dict caches per contact (the customer
found) and per customer (the history, for CACHE_TTL_S seconds); concurrent tickets of one
customer share the one fetch in flight (the dict holds its task). No audit, no queue, no
mapping engine, no retries. Prints one JSON line (see `report` in bench/_enrich_case.py).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._enrich_case import report, run_tickets  # noqa: E402

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY, subject TEXT, mobile TEXT, email TEXT, status TEXT,
    customer_id TEXT, enrichment TEXT, created_at REAL, enriched_at REAL);
"""


class _Cache:
    """Values by key for `ttl` seconds; callers asking for one key at once share its task."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, asyncio.Task[Any]]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl or (
                entry[1].done() and entry[1].exception() is not None):
            entry = (time.monotonic(), asyncio.ensure_future(load()))
            self._entries[key] = entry
        return await asyncio.shield(entry[1])


class RawEnricher:
    def __init__(self, client: httpx.AsyncClient, db: sqlite3.Connection, ttl: float) -> None:
        self.client, self.db = client, db
        self.customers, self.histories = _Cache(ttl), _Cache(ttl)

    async def _get(self, path: str, **params: str) -> Any:
        response = await self.client.get(path, params=params)
        response.raise_for_status()
        return response.json()["data"]

    async def _find(self, kind: str, value: str) -> dict[str, Any] | None:
        found = await self._get("/api/v1/customers", **{kind: value})
        return found[0] if found else None

    async def _history(self, customer_id: str) -> dict[str, Any]:
        orders, interactions = await asyncio.gather(
            self._get(f"/api/v1/customers/{customer_id}/orders"),
            self._get(f"/api/v1/customers/{customer_id}/interactions"))
        return {"orders": orders, "interactions": interactions}

    async def enrich(self, ticket: dict[str, Any]) -> str:
        created = time.time()
        cursor = self.db.execute(
            "INSERT INTO tickets (subject, mobile, email, status, created_at)"
            " VALUES (?, ?, ?, 'pending', ?)",
            (ticket["subject"], ticket.get("contact_mobile"), ticket.get("contact_email"),
             created))
        self.db.commit()
        kind = "mobile" if ticket.get("contact_mobile") else "email"
        value = ticket[f"contact_{kind}"]
        customer = await self.customers.get(f"{kind}:{value}", lambda: self._find(kind, value))
        history = None
        if customer is not None:
            history = await self.histories.get(customer["id"],
                                               lambda: self._history(customer["id"]))
        status = "enriched" if customer is not None else "not_found"
        self.db.execute(
            "UPDATE tickets SET status = ?, customer_id = ?, enrichment = ?, enriched_at = ?"
            " WHERE id = ?",
            (status, customer and customer["id"],
             json.dumps({"customer": customer, "history": history}, ensure_ascii=False),
             time.time(), cursor.lastrowid))
        self.db.commit()
        return status


def _results(db: sqlite3.Connection) -> list[tuple[str, float, float | None, int]]:
    rows = db.execute("SELECT status, created_at, enriched_at, enrichment FROM tickets"
                      " ORDER BY id").fetchall()
    return [(status, created, enriched,
             len(((json.loads(enrichment or "{}").get("history")) or {}).get("orders") or ()))
            for status, created, enriched, enrichment in rows]


async def _main(url: str, api_key: str, tickets: list[dict[str, Any]], db_file: str,
                concurrency: int, ttl: float, rate: float) -> None:
    db = sqlite3.connect(db_file)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": api_key}) as client:
        enricher = RawEnricher(client, db, ttl)
        await enricher.enrich(tickets[0])  # the warm-up ticket (nobody's contact)
        db.execute("DELETE FROM tickets")
        db.commit()
        wall = await run_tickets(tickets[1:], enricher.enrich, concurrency, rate)
    print(report(wall, _results(db)))
    db.close()


if __name__ == "__main__":
    url, key, tickets_file, db_file, concurrency, ttl, rate = sys.argv[1:8]
    asyncio.run(_main(url, key, json.loads(Path(tickets_file).read_text(encoding="utf-8")),
                      db_file, int(concurrency), float(ttl), float(rate)))
