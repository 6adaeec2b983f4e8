"""Seed a store with the console's volumes: 100,000 tickets over 90 days across channels,
categories, priorities and statuses (with their enrichment tasks and write-backs), 10,000
runs of the configured jobs, and the vendor calls those runs made (`http.call` audit rows).

Rows go in through the store's own bulk path (hub.store.rows.RowStatement: one executemany
of plain tuples per table on SQLite, COPY on PostgreSQL), in one transaction. Deterministic for
a given `seed` and `now`. The audit rows are written at the times of the calls they stand for,
so they are NOT a valid audit chain (`hub audit verify` fails on a seeded store: its hashes
are placeholders); everything else is what the hub itself would have written.

    from bench.console_data import seed_console_data
    seeded = seed_console_data(engine)          # a migrated, empty store

bench/console.py (the console's pages) and bench/reports.py (the dashboard's figures) use it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table

from hub.store.models import (
    AuditHead,
    AuditRecord,
    Base,
    Customer,
    EnrichmentTask,
    JobSchedule,
    OutboxMessage,
    Run,
    RunSlice,
    SyncState,
    Ticket,
)
from hub.store.rows import RowStatement

__all__ = ["Seeded", "seed_console_data"]

CHANNELS = (("wecom", 30), ("phone", 22), ("web", 18), ("dingtalk", 12), ("email", 10),
            ("wechat", 5), ("api", 2), ("other", 1))
CATEGORIES = (("退款", 18), ("配件", 14), ("安装", 12), ("咨询", 25), ("投诉", 8),
              ("故障报修", 16), (None, 7))
PRIORITIES = (("normal", 70), ("high", 18), ("urgent", 5), ("low", 7))
# job, kind, connection, operations its runs call, share of the runs
JOBS = (("crm_customers", "pull", "crm", ("customers.list",), 40),
        ("yonyou_customers", "pull", "yonyou", ("token", "customers.list"), 15),
        ("kb_articles", "pull", "kb", ("pages.list",), 15),
        ("erp_refunds", "writeback", "kingdee", ("refund.create.save", "refund.create.submit"), 12),
        ("erp_parts", "writeback", "kingdee", ("parts.consume.save",), 8),
        ("kb_publish", "writeback", "kb", ("article.upsert",), 3),
        ("ticket_enrichment", "enrich", "crm", ("customers.get", "orders.list"), 7))
CALL_OUTCOMES = (("ok", 930), ("not_found", 20), ("transient", 25), ("rate_limited", 15),
                 ("rejected", 6), ("auth", 2), ("outcome_unknown", 2))
CALLS_PER_RUN = 5  # on average
SUBJECTS = ("空调不制冷", "退款未到账", "配件更换申请", "安装预约", "发票开具", "订单查询",
            "设备报警 E04", "投诉：上门迟到", "会员积分", "物流延迟")


@dataclass(frozen=True)
class Seeded:
    """What was written, and the moment the data ends at."""

    now: datetime
    customers: int
    tickets: int
    enrichment_tasks: int
    outbox: int
    runs: int
    calls: int
    seconds: float


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _picker(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Callable[[], Any]:
    values = [value for value, _w in weighted]
    cumulative, total = [], 0
    for _value, weight in weighted:
        total += weight
        cumulative.append(total)
    return lambda: rng.choices(values, cum_weights=cumulative)[0]


class _Writer:
    """Rows of one table as the driver takes them: timestamps through the column type's
    bind processor, JSON documents as their text."""

    def __init__(self, connection: Connection, table: Table, columns: Sequence[str]) -> None:
        self.connection, self.statement = connection, RowStatement(table, columns)
        dialect = connection.dialect
        self.stamps = {name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                       for name in columns if table.c[name].type.python_type is datetime}

    def stamp(self, column: str, value: datetime | None) -> Any:
        processor = self.stamps[column]
        return value if value is None or processor is None else processor(value)

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        for start in range(0, len(rows), 20_000):
            self.statement.run(self.connection, rows[start:start + 20_000])


def seed_console_data(engine: Engine, *, tickets: int = 100_000, runs: int = 10_000,
                      customers: int = 10_000, days: int = 90, now: datetime | None = None,
                      seed: int = 21) -> Seeded:
    """Fill a migrated, empty store (see the module docstring); returns the counts."""
    import time

    started = time.perf_counter()
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    rng = random.Random(seed)
    with engine.begin() as connection:
        n_customers = _customers(connection, rng, customers, now)
        n_tickets, n_tasks, n_outbox = _tickets(connection, rng, tickets, n_customers, days, now)
        n_runs, n_calls = _runs(connection, rng, runs, days, now)
        _jobs(connection, now)
    return Seeded(now=now, customers=n_customers, tickets=n_tickets, enrichment_tasks=n_tasks,
                  outbox=n_outbox, runs=n_runs, calls=n_calls,
                  seconds=round(time.perf_counter() - started, 1))


def _customers(connection: Connection, rng: random.Random, count: int, now: datetime) -> int:
    columns = ("id", "source", "external_id", "name", "company", "mobile", "email", "tier",
               "attributes", "content_hash", "mapping", "created_at", "updated_at")
    out = _Writer(connection, _table(Customer), columns)
    tier = _picker(rng, (("vip", 8), ("gold", 20), ("normal", 72)))
    at = out.stamp("created_at", now - timedelta(days=365))
    out.write([(i, "crm", f"C{i:06d}", f"客户{i}", f"公司{i % 997}", f"138{i:08d}",
                f"c{i}@example.com", tier(), "{}", f"{i:064x}", "crm_customer@1", at, at)
               for i in range(1, count + 1)])
    return count


def _tickets(connection: Connection, rng: random.Random, count: int, customers: int,
             days: int, now: datetime) -> tuple[int, int, int]:
    columns = ("id", "subject", "description", "channel", "status", "contact_name",
               "customer_id", "enrichment_status", "enriched_at", "category", "priority",
               "resolved_at", "resolutions", "created_at", "updated_at")
    out = _Writer(connection, _table(Ticket), columns)
    channel, category = _picker(rng, CHANNELS), _picker(rng, CATEGORIES)
    priority = _picker(rng, PRIORITIES)
    enriched = _picker(rng, (("enriched", 86), ("partial", 7), ("not_found", 5),
                             ("skipped", 2)))
    span = days * 86400
    rows, tasks, writes = [], [], []
    for i in range(1, count + 1):
        created = now - timedelta(seconds=span * (1 - (i - 1) / count) - rng.random() * 60)
        age_h = (now - created).total_seconds() / 3600
        hours = rng.lognormvariate(2.3, 1.1)  # median ~10 h to resolve, a long tail
        resolved = created + timedelta(hours=hours) if hours < age_h else None
        status = ("resolved" if rng.random() < 0.8 else "closed") if resolved else \
            rng.choice(("open", "open", "pending"))
        state = "pending" if age_h < 0.02 else enriched()
        enriched_at = None if state in ("pending", "skipped") else \
            created + timedelta(seconds=rng.lognormvariate(0.5, 0.8))
        cat = category()
        rows.append((i, rng.choice(SUBJECTS), "", channel(), status, f"联系人{i % 500}",
                     rng.randint(1, customers) if customers else None, state,
                     out.stamp("enriched_at", enriched_at), cat, priority(),
                     out.stamp("resolved_at", resolved), 1 if resolved else 0,
                     out.stamp("created_at", created),
                     out.stamp("updated_at", resolved or enriched_at or created)))
        if state == "pending" or rng.random() < 0.01:
            tasks.append((i, "created", "pending" if state == "pending" else "failed", created))
        if resolved is not None and cat in ("退款", "配件"):
            writes.append((i, cat, resolved))
    out.write(rows)
    return count, _tasks(connection, tasks), _outbox(connection, rng, writes, now)


def _tasks(connection: Connection, tasks: list[tuple[int, str, str, datetime]]) -> int:
    columns = ("id", "ticket_id", "reason", "status", "due_at", "attempts", "last_error",
               "created_at", "updated_at")
    out = _Writer(connection, _table(EnrichmentTask), columns)
    out.write([(n, ticket, reason, status, out.stamp("due_at", at), 0 if status == "pending"
                else 6, None if status == "pending" else "crm: timed out after 6 attempts",
                out.stamp("created_at", at), out.stamp("updated_at", at))
               for n, (ticket, reason, status, at) in enumerate(tasks, 1)])
    return len(tasks)


def _outbox(connection: Connection, rng: random.Random,
            writes: list[tuple[int, str, datetime]], now: datetime) -> int:
    columns = ("id", "job", "ticket_id", "ordering_key", "connection", "action",
               "idempotency_key", "mapping", "payload", "document", "status", "step",
               "attempts", "replays", "next_attempt_at", "result", "error", "error_kind",
               "created_at", "updated_at", "done_at")
    out = _Writer(connection, _table(OutboxMessage), columns)
    rows = []
    for n, (ticket, category, resolved) in enumerate(writes, 1):
        refund = category == "退款"
        job, action = ("erp_refunds", "refund.create") if refund else \
            ("erp_parts", "parts.consume")
        key = f"TK{ticket:06d}-{'RF' if refund else 'PT'}1"
        recent = (now - resolved).total_seconds() < 1800
        draw = rng.random()
        status = "pending" if recent or draw < 0.004 else "dead" if draw < 0.015 else "done"
        finished = resolved + timedelta(seconds=rng.lognormvariate(0.7, 0.9))
        document = json.dumps({"FBillNo": key}, ensure_ascii=False)
        rows.append((
            n, job, ticket, f"ticket:{ticket}", "kingdee", action, key,
            "kingdee_refund_bill@1" if refund else "kingdee_parts_outbound@1",
            json.dumps({"ticket_id": ticket}), document, status,
            "done" if status == "done" else None, 1 if status != "dead" else 6, 0,
            out.stamp("next_attempt_at", resolved),
            json.dumps({"number": key, "id": str(100000 + n)}) if status == "done" else None,
            "kingdee 2001: 物料编码不存在" if status == "dead" else None,
            "rejected" if status == "dead" else None,
            out.stamp("created_at", resolved),
            out.stamp("updated_at", resolved if status == "pending" else finished),
            out.stamp("done_at", finished if status == "done" else None)))
    out.write(rows)
    return len(rows)


def _runs(connection: Connection, rng: random.Random, count: int, days: int,
          now: datetime) -> tuple[int, int]:
    columns = ("id", "job", "kind", "trigger", "status", "started_at", "finished_at",
               "duration_ms", "pages", "read", "created", "updated", "unchanged", "rejected",
               "retries", "budget_wait_ms", "skipped", "slices", "error")
    out = _Writer(connection, _table(Run), columns)
    job = _picker(rng, [((name, kind, conn, ops), share) for name, kind, conn, ops, share
                        in JOBS])
    outcome = _picker(rng, CALL_OUTCOMES)
    span = days * 86400
    rows, calls = [], []
    for i in range(1, count + 1):
        name, kind, conn, ops = job()
        started = now - timedelta(seconds=span * (1 - (i - 1) / count) + 120)
        outcomes = [outcome() for _ in range(rng.randint(1, 2 * CALLS_PER_RUN - 1))]
        if conn == "yonyou" and (now - started).total_seconds() < 86400:
            # the last day: yonyou slows down and starts throttling, before it fails
            outcomes = [("rate_limited" if rng.random() < 0.08 else o) for o in outcomes]
        failed = sum(o in ("transient", "outcome_unknown") for o in outcomes)
        status = "failed" if failed > 2 else "partial" if failed else "succeeded"
        moment = started
        for operation_index, result in enumerate(outcomes):
            latency = rng.lognormvariate(5.0, 0.6)  # median ~150 ms
            if conn == "yonyou" and (now - started).total_seconds() < 86400:
                latency *= 4
            calls.append((moment, conn, ops[operation_index % len(ops)], result,
                          round(latency, 2)))
            moment += timedelta(milliseconds=latency + 5)
        read = rng.randint(0, 2000)
        rows.append((i, name, kind, "schedule", status, out.stamp("started_at", started),
                     out.stamp("finished_at", moment),
                     int((moment - started).total_seconds() * 1000), max(1, read // 200), read,
                     read // 20, read // 10, read - read // 20 - read // 10, 0,
                     sum(o != "ok" for o in outcomes), 0, 0, 1,
                     None if status == "succeeded" else "transient: 502 Bad Gateway"))
    out.write(rows)
    _parts(connection, count, started, moment)
    return count, _calls(connection, calls)


def _parts(connection: Connection, run_id: int, started: datetime, finished: datetime,
           count: int = 200) -> None:
    """The newest run read in `count` parts (the most its page draws on the timeline), a
    few failed, spread over its time."""
    columns = ("run_id", "seq", "key", "params", "status", "attempts", "due_at", "pages",
               "read", "created", "updated", "unchanged", "rejected", "skipped", "retries",
               "budget_wait_ms", "worker", "started_at", "finished_at")
    out = _Writer(connection, _table(RunSlice), columns)
    span = max((finished - started).total_seconds(), 1.0)
    rows = []
    for seq in range(count):
        begin = started + timedelta(seconds=span * seq / count / 2)
        end = begin + timedelta(seconds=span / 2)
        rows.append((run_id, seq, f"2026-{seq // 28 % 12 + 1:02d}-{seq % 28 + 1:02d}",
                     json.dumps({"day": seq}), "failed" if seq % 37 == 5 else "done", 1,
                     out.stamp("due_at", begin), 1, 100, 5, 10, 85 - seq % 3, seq % 3, 0, 0,
                     0, f"worker-{seq % 4}",
                     out.stamp("started_at", begin), out.stamp("finished_at", end)))
    out.write(rows)


def _calls(connection: Connection, calls: list[tuple[datetime, str, str, str, float]]) -> int:
    columns = ("seq", "at", "actor", "action", "target", "outcome", "detail", "prev_hash",
               "hash", "key_id")
    out = _Writer(connection, _table(AuditRecord), columns)
    calls.sort()
    placeholder = "0" * 64
    out.write([(seq, out.stamp("at", at), "job", "http.call", f"{conn}:{operation}", result,
                json.dumps({"method": "GET", "url": f"https://{conn}.example.com/",
                            "status": 200 if result == "ok" else 429 if result ==
                            "rate_limited" else 401 if result == "auth" else 502,
                            "attempt": 1, "duration_ms": latency, "error": None}),
                placeholder, placeholder, None)
               for seq, (at, conn, operation, result, latency) in enumerate(calls, 1)])
    head = _table(AuditHead)
    connection.execute(head.delete())
    connection.execute(head.insert().values(id=1, seq=len(calls), hash=placeholder))
    return len(calls)


def _jobs(connection: Connection, now: datetime) -> None:
    schedules, states = _table(JobSchedule), _table(SyncState)
    for name, kind, _conn, _ops, _share in JOBS:
        if kind != "pull":
            continue
        connection.execute(schedules.insert().values(
            job=name, paused=False, schedule="every 15m", next_due_at=now + timedelta(minutes=5),
            last_fired_at=now - timedelta(minutes=10), updated_at=now))
        connection.execute(states.insert().values(job=name, state='{"since": 0}',
                                                  updated_at=now - timedelta(minutes=10)))
