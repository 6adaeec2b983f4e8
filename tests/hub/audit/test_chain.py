"""The audit chain: appends, verification, and tampering caught (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from connectors.sdk.redaction import Redactor
from hub.audit import AuditEntry, AuditLog
from hub.store import migrate
from hub.store.engine import create_engine, session_factory
from hub.store.models import AuditHead, AuditRecord


@pytest.fixture
def audit(database_url: str) -> Iterator[AuditLog]:
    engine = create_engine(database_url)
    migrate.upgrade(engine)
    yield AuditLog(session_factory(engine), Redactor(["hunter2-secret"]))
    engine.dispose()


def fill(audit: AuditLog, n: int = 5) -> None:
    for i in range(n):
        audit.record([AuditEntry("tester", "thing.change", f"thing:{i}",
                                 detail={"i": i, "note": "改了名字"})])


def tamper(audit: AuditLog, statement: sa.Executable) -> None:
    with audit._sessions.begin() as session:  # noqa: SLF001 -- the test plays the attacker
        session.execute(statement)


def test_verify__intact_chain(audit: AuditLog) -> None:
    fill(audit)
    result = audit.verify()
    assert result.ok and result.checked == 5


def test_verify__empty_log_is_intact(audit: AuditLog) -> None:
    assert audit.verify().ok


def test_verify__edited_row_is_named(audit: AuditLog) -> None:
    fill(audit)
    tamper(audit, sa.update(AuditRecord).where(AuditRecord.seq == 3)
           .values(outcome="forged"))
    result = audit.verify()
    assert not result.ok and result.seq == 3
    assert result.problem == "row 3 was edited: its content does not match its hash"


def test_verify__edited_detail_is_caught(audit: AuditLog) -> None:
    fill(audit)
    tamper(audit, sa.update(AuditRecord).where(AuditRecord.seq == 2)
           .values(detail={"i": 99, "note": "改了名字"}))
    assert audit.verify().seq == 2


def test_verify__deleted_row_is_named(audit: AuditLog) -> None:
    fill(audit)
    tamper(audit, sa.delete(AuditRecord).where(AuditRecord.seq == 2))
    result = audit.verify()
    assert not result.ok and result.seq == 2
    assert "row 2 missing before row 3" in (result.problem or "")


def test_verify__reordered_rows_are_caught(audit: AuditLog) -> None:
    fill(audit)
    with audit._sessions.begin() as session:  # noqa: SLF001
        rows = {r.seq: r for r in session.scalars(sa.select(AuditRecord))}
        two, four = rows[2], rows[4]
        swapped = {k: getattr(two, k) for k in ("at", "actor", "action", "target", "detail")}
        for key in swapped:
            setattr(two, key, getattr(four, key))
            setattr(four, key, swapped[key])
        two.hash, four.hash = four.hash, two.hash
    result = audit.verify()
    assert not result.ok and result.seq == 2


def test_verify__truncated_tail_is_caught(audit: AuditLog) -> None:
    fill(audit)
    tamper(audit, sa.delete(AuditRecord).where(AuditRecord.seq >= 4))
    result = audit.verify()
    assert not result.ok
    assert "the log ends at row 3 but the head records row 5" in (result.problem or "")


def test_append__redacts_secrets_and_sensitive_keys(audit: AuditLog) -> None:
    audit.record([AuditEntry("tester", "login", "user:hunter2-secret",
                             detail={"password": "p4ss-word", "note": "used hunter2-secret",
                                     "url": "https://x.test/?access_token=tok-123456"})])
    row = audit.tail(1)[0]
    text = f"{row.target} {row.detail}"
    assert "hunter2-secret" not in text and "p4ss-word" not in text
    assert row.detail is not None and row.detail["password"] == "***"
    assert audit.verify().ok


def test_append__concurrent_writers_keep_one_chain(audit: AuditLog) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: audit.record([AuditEntry("w", "x", str(i))]), range(40)))
    result = audit.verify()
    assert result.ok and result.checked == 40
    with audit._sessions() as session:  # noqa: SLF001
        assert session.get_one(AuditHead, 1).seq == 40


def test_append__batch_in_callers_transaction_rolls_back_with_it(audit: AuditLog) -> None:
    with pytest.raises(RuntimeError), audit._sessions.begin() as session:  # noqa: SLF001
        audit.append(session, [AuditEntry("t", "a"), AuditEntry("t", "b")])
        raise RuntimeError("the change failed")
    assert audit.tail() == []
    fill(audit, 1)
    assert audit.verify().ok
