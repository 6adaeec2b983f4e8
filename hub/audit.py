"""The append-only audit log: one row per external call and per data change, hash-chained.

Each row's hash covers its own content and the previous row's hash, and `audit_head` keeps
the last sequence number and hash. Editing, deleting, reordering or truncating rows breaks
the chain, and `verify()` names the first row where it breaks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from connectors.sdk import CallRecord, Redactor

from .store.models import AuditHead, AuditRecord

__all__ = ["GENESIS", "AuditEntry", "AuditLog", "VerifyResult", "call_entry"]

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str
    action: str
    target: str | None = None
    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None
    seq: int | None = None


def call_entry(actor: str, call: CallRecord) -> AuditEntry:
    """The audit entry of one HTTP attempt (redacted by the CallRecord already)."""
    return AuditEntry(
        actor=actor,
        action="http.call",
        target=f"{call.connection}:{call.operation}",
        outcome=call.outcome,
        detail={"method": call.method, "url": call.url, "status": call.status,
                "attempt": call.attempt, "duration_ms": call.duration_ms,
                "error": call.error},
    )


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _digest(prev_hash: str, row: AuditRecord) -> str:
    return _digest_of(prev_hash, row.seq, row.at, row.actor, row.action, row.target,
                      row.outcome, row.detail)


def _digest_of(prev_hash: str, seq: int, at: datetime, actor: str, action: str,
               target: str | None, outcome: str, detail: dict[str, Any] | None) -> str:
    body = json.dumps([seq, _utc(at).isoformat(), actor, action, target, outcome, detail],
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


class AuditLog:
    """Appends, reads and verifies the audit chain; redacts every detail it writes."""

    def __init__(self, sessions: sessionmaker[Session], redactor: Redactor | None = None) -> None:
        self._sessions = sessions
        self.redactor = redactor or Redactor()

    def append(self, session: Session, entries: Sequence[AuditEntry]) -> None:
        """Append entries inside the caller's transaction (so they commit with its change)."""
        if not entries:
            return
        # Bumping the head first takes its row lock (PostgreSQL) / the write lock (SQLite),
        # so concurrent appenders line up instead of forking the chain.
        session.execute(update(AuditHead).where(AuditHead.id == 1)
                        .values(seq=AuditHead.seq + len(entries)))
        head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
        session.refresh(head)
        seq = head.seq - len(entries)
        prev = head.hash
        now = datetime.now(UTC)
        rows = []
        for entry in entries:
            seq += 1
            target = self.redactor.text(entry.target) if entry.target else None
            detail = self._clean(entry.detail)
            digest = _digest_of(prev, seq, now, entry.actor, entry.action, target,
                                entry.outcome, detail)
            rows.append({"seq": seq, "at": now, "actor": entry.actor, "action": entry.action,
                         "target": target, "outcome": entry.outcome, "detail": detail,
                         "prev_hash": prev, "hash": digest})
            prev = digest
        # One multi-row INSERT (RETURNING makes the driver send one statement, not one
        # per row), and no ORM object per row.
        session.execute(insert(AuditRecord).returning(AuditRecord.seq), rows)
        head.hash = prev

    def record(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries in a transaction of their own."""
        with self._sessions.begin() as session:
            self.append(session, entries)

    def call_hook(self, actor: str) -> Any:
        """A connector `on_call` hook that audits each HTTP attempt as it happens."""

        def on_call(call: CallRecord) -> None:
            self.record([call_entry(actor, call)])

        return on_call

    def tail(self, limit: int = 20) -> list[AuditRecord]:
        with self._sessions() as session:
            rows = session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc())
                                   .limit(limit)).all()
        return list(reversed(rows))

    def verify(self) -> VerifyResult:
        with self._sessions() as session:
            head = session.get(AuditHead, 1)
            rows = session.scalars(
                select(AuditRecord).order_by(AuditRecord.seq).execution_options(yield_per=2000)
            )
            try:
                return _verify_chain(rows, head)
            finally:
                rows.close()  # verification may stop early; free PostgreSQL's server cursor

    def _clean(self, detail: dict[str, Any]) -> dict[str, Any] | None:
        if not detail:
            return None
        # Round-trip through JSON so the hash covers exactly what the database hands back.
        cleaned: dict[str, Any] = json.loads(
            json.dumps(self.redactor.mapping(detail), ensure_ascii=False, default=str)
        )
        return cleaned


def _verify_chain(rows: Iterable[AuditRecord], head: AuditHead | None) -> VerifyResult:
    expected_seq, prev, checked = 1, GENESIS, 0
    for row in rows:
        if row.seq != expected_seq:
            missing = f"rows {expected_seq}-{row.seq - 1}" if row.seq > expected_seq + 1 \
                else f"row {expected_seq}"
            return VerifyResult(False, checked, f"{missing} missing before row {row.seq} "
                                f"(deleted, or the rows were renumbered)", expected_seq)
        if row.prev_hash != prev:
            return VerifyResult(False, checked, f"row {row.seq} does not follow row "
                                f"{row.seq - 1}: the chain link was altered or rows reordered",
                                row.seq)
        if _digest(prev, row) != row.hash:
            return VerifyResult(False, checked, f"row {row.seq} was edited: its content does "
                                f"not match its hash", row.seq)
        prev = row.hash
        expected_seq += 1
        checked += 1
    last = expected_seq - 1
    if head is None:
        return VerifyResult(False, checked, "the audit head row is missing", None)
    if head.seq != last or head.hash != prev:
        return VerifyResult(False, checked, f"the log ends at row {last} but the head records "
                            f"row {head.seq}: rows were removed from the end", last + 1)
    return VerifyResult(True, checked)
