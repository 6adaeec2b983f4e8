"""Reconciliation: resolved tickets' write-backs against the documents the vendor holds.

For every write-back job on a connection that can list what was written, the bills dated on
or after `since` are grouped by the ticket reference they carry. Each outbox row written in
the window expects exactly one: none is `missing` (deleted in the ERP, or never written),
more than one is `duplicate`, one whose amount, customer or number differs is `mismatched`.
Bills carrying a ticket reference the hub owes nothing for are `unexpected`. A listing that
fails (the vendor down, a refusal) is the finding `unlisted`, naming the job, connection and
error; the other jobs are still checked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from connectors.sdk import ConnectorError
from connectors.sdk.capabilities import WriteResult, WrittenLister

from ..config import WritebackJob
from ..runtime import Hub
from ..store.models import OutboxMessage

__all__ = ["Finding", "ReconcileReport", "reconcile"]

ACTOR = "reconcile"


@dataclass(frozen=True)
class Finding:
    kind: str  # missing, duplicate, mismatched, unexpected, not_written, unlisted
    job: str
    reference: str | None
    key: str | None
    detail: str
    outbox_id: int | None = None
    numbers: tuple[str, ...] = ()


@dataclass
class ReconcileReport:
    since: datetime
    checked: int = 0  # outbox rows compared
    bills: int = 0  # vendor documents read
    matched: int = 0
    findings: list[Finding] = field(default_factory=list)
    skipped_jobs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for finding in self.findings:
            counts[finding.kind] += 1
        return dict(counts)


async def reconcile(hub: Hub, *, since: datetime, connection: str | None = None) -> ReconcileReport:
    report = ReconcileReport(since=since)
    for name, job in sorted(hub.config.hub.jobs.items()):
        if not isinstance(job, WritebackJob) or (connection and job.connection != connection):
            continue
        connector = hub.connector(job.connection, actor=ACTOR)
        try:
            async with connector:
                if not isinstance(connector, WrittenLister):
                    report.skipped_jobs.append(name)
                    continue
                bills = await connector.list_written(job.action, since=since)
        except ConnectorError as exc:
            report.findings.append(Finding(
                "unlisted", name, None, None,
                f"{job.connection} could not list {job.action}: {exc}"))
            continue
        _compare(hub, name, job, bills, since, report)
    return report


def _compare(hub: Hub, name: str, job: WritebackJob, bills: list[WriteResult],
             since: datetime, report: ReconcileReport) -> None:
    report.bills += len(bills)
    by_reference: dict[str, list[WriteResult]] = defaultdict(list)
    for bill in bills:
        if bill.reference:
            by_reference[bill.reference].append(bill)
    with hub.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(
            OutboxMessage.connection == job.connection, OutboxMessage.action == job.action,
            OutboxMessage.created_at >= since).order_by(OutboxMessage.id)).all()
    expected: dict[str, list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        expected[str(row.payload.get("ticket_ref"))].append(row)
    for reference, owed in expected.items():
        found = by_reference.get(reference, [])
        written = [row for row in owed if row.status == "done"]
        report.checked += len(owed)
        for row in owed:
            if row.status != "done":
                report.findings.append(Finding(
                    "not_written", name, reference, row.idempotency_key,
                    f"outbox row {row.id} is {row.status}"
                    + (f": {row.error}" if row.error else ""), outbox_id=row.id))
        numbers = tuple(sorted(str(bill.number or bill.key) for bill in found))
        if len(found) > len(written):
            extra = [bill for bill in found
                     if bill.key not in {row.idempotency_key for row in written}]
            report.findings.append(Finding(
                "duplicate", name, reference, None,
                f"{len(found)} documents for {len(written)} write(s); not the hub's: "
                f"{', '.join(str(bill.number or bill.key) for bill in extra) or 'none'}",
                numbers=numbers))
        for row in written:
            bill = next((b for b in found if b.key == row.idempotency_key), None)
            if bill is None:
                report.findings.append(Finding(
                    "missing", name, reference, row.idempotency_key,
                    f"written as {(row.result or {}).get('number')} but not in the vendor "
                    "system any more", outbox_id=row.id))
                continue
            problem = _mismatch(row.payload, bill)
            if problem:
                report.findings.append(Finding("mismatched", name, reference,
                                               row.idempotency_key, problem,
                                               outbox_id=row.id, numbers=numbers))
            else:
                report.matched += 1
    for reference, found in by_reference.items():
        if reference not in expected:
            report.findings.append(Finding(
                "unexpected", name, reference, None,
                "documents carry this ticket reference but the hub wrote none in the window",
                numbers=tuple(sorted(str(b.number or b.key) for b in found))))


def _mismatch(payload: dict[str, Any], bill: WriteResult) -> str | None:
    problems = []
    refund = payload.get("refund") or {}
    if bill.amount is not None and refund.get("amount") is not None:
        if _decimal(bill.amount) != _decimal(refund["amount"]):
            problems.append(f"amount {bill.amount} ≠ {refund['amount']}")
    customer = (payload.get("customer") or {}).get("erp_number")
    if bill.counterparty is not None and customer and bill.counterparty != customer:
        problems.append(f"customer {bill.counterparty} ≠ {customer}")
    return "; ".join(problems) or None


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
