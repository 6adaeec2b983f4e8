"""The hand-written pull for bench/sync.py: httpx + sqlite3, run as a process of its own.

    python bench/_sync_raw.py URL API_KEY PAGE_SIZE DB_FILE

The least a careful person would write for the same job: GET a page, parse it, map each
record to the customer's columns by hand, and commit per page, in one transaction, the
customers (upserted by external id), the raw records (upserted by id) and the cursor. No
audit, no change detection, no mapping engine. Prints one JSON line: records, pages.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from typing import Any

import httpx

TIERS = {"普通": "standard", "银卡": "silver", "金卡": "gold", "钻石": "vip"}
SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE, name TEXT, company TEXT,
    mobile TEXT, email TEXT, tier TEXT, attributes TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS raw_records (
    id INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE, payload TEXT);
CREATE TABLE IF NOT EXISTS cursors (job TEXT PRIMARY KEY, cursor TEXT);
"""
UPSERT_CUSTOMER = """
INSERT INTO customers (external_id, name, company, mobile, email, tier, attributes, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (external_id) DO UPDATE SET name = excluded.name, company = excluded.company,
    mobile = excluded.mobile, email = excluded.email, tier = excluded.tier,
    attributes = excluded.attributes, updated_at = excluded.updated_at
"""
UPSERT_RAW = """
INSERT INTO raw_records (external_id, payload) VALUES (?, ?)
ON CONFLICT (external_id) DO UPDATE SET payload = excluded.payload
"""
SAVE_CURSOR = "INSERT OR REPLACE INTO cursors (job, cursor) VALUES ('customers', ?)"


def _row(record: dict[str, Any]) -> tuple[Any, ...]:
    contact, address = record.get("contact") or {}, record.get("address") or {}
    attributes = {"province": address.get("province"), "city": address.get("city"),
                  "active": record.get("status") == "正常", "tags": record.get("tags") or [],
                  "source_updated_at": record["updated_at"]}
    return (record["id"], record["name"], record.get("company"), contact.get("mobile"),
            contact.get("email"), TIERS.get(record.get("level") or "", "standard"),
            json.dumps(attributes, ensure_ascii=False), record["updated_at"])


def main() -> None:
    url, api_key, page_size, db = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.executescript(SCHEMA)
    records = pages = 0
    params: dict[str, Any] = {"limit": page_size}
    with httpx.Client(base_url=url, headers={"X-API-Key": api_key}) as client:
        while True:
            response = client.get("/api/v1/customers", params=params)
            response.raise_for_status()
            body = response.json()
            page = body["data"]
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(UPSERT_CUSTOMER, [_row(r) for r in page])
            connection.executemany(UPSERT_RAW, [
                (r["id"], json.dumps(r, ensure_ascii=False)) for r in page])
            connection.execute(SAVE_CURSOR, (page[-1]["updated_at"] if page else None,))
            connection.execute("COMMIT")
            records += len(page)
            pages += 1
            if not body["next_cursor"]:
                break
            params = {"limit": page_size, "cursor": body["next_cursor"]}
    connection.close()
    print(json.dumps({"records": records, "pages": pages}))


if __name__ == "__main__":
    main()
