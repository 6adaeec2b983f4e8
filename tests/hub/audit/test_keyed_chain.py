"""The keyed audit chain against an attacker who can write the database but has no key:
edits, deletions and truncations with every hash recomputed are caught (SQLite and
PostgreSQL); key rotation keeps old rows verifiable; a wrong key fails clearly."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.sdk.redaction import Redactor
from hub.audit import AuditEntry, AuditLog
from hub.audit.keys import AuditKeys
from hub.store import migrate
from hub.store.engine import create_engine, session_factory
from hub.store.models import AuditHead, AuditRecord


@pytest.fixture
def store(database_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def checkpoints(tmp_path: Path) -> Path:
    return tmp_path / "audit.checkpoints"


def audit_log(store: sa.Engine, checkpoints: Path, *keys: str) -> AuditLog:
    return AuditLog(session_factory(store), Redactor(),
                    keys=AuditKeys.of(*(keys or ("the-current-audit-key",))),
                    checkpoints=checkpoints)


@pytest.fixture
def audit(store: sa.Engine, checkpoints: Path) -> AuditLog:
    return audit_log(store, checkpoints)


def fill(audit: AuditLog, n: int = 6, *, start: int = 0) -> None:
    for i in range(start, start + n):
        audit.record([AuditEntry("tester", "thing.change", f"thing:{i}", detail={"i": i})])


def _unkeyed_hash(prev: str, row: AuditRecord) -> str:
    """What `hub audit verify` accepted before the chain was keyed: plain SHA-256."""
    at = row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at.astimezone(UTC)
    body = json.dumps([row.seq, at.isoformat(), row.actor, row.action, row.target,
                       row.outcome, row.detail], ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(f"{prev}|{body}".encode()).hexdigest()


def rechain(store: sa.Engine, *, unkey: bool = False) -> None:
    """The attacker: renumber the rows 1..n, recompute every hash and fix the head."""
    with session_factory(store).begin() as session:
        rows = list(session.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)))
        prev = "0" * 64
        for seq, row in enumerate(rows, start=1):
            if unkey and hasattr(row, "key_id"):
                row.key_id = None
            session.execute(sa.update(AuditRecord).where(AuditRecord.seq == row.seq)
                            .values(seq=seq))
            row.seq = seq
            row.prev_hash, row.hash = prev, _unkeyed_hash(prev, row)
            prev = row.hash
        session.flush()
        head: dict[str, Any] = {"seq": len(rows), "hash": prev}
        if unkey:  # pass the whole log off as written before the chain was keyed
            head |= {"key_id": None, "mac": None}
        session.execute(sa.update(AuditHead).where(AuditHead.id == 1).values(**head))


def attack(store: sa.Engine, statement: sa.Executable, *, unkey: bool = False) -> None:
    with session_factory(store).begin() as session:
        session.execute(statement)
    rechain(store, unkey=unkey)


@pytest.mark.parametrize("unkey", [False, True], ids=["keep-key-id", "unkey-rows"])
def test_edit__with_hashes_recomputed_is_caught(store: sa.Engine, audit: AuditLog,
                                                unkey: bool) -> None:
    fill(audit)
    attack(store, sa.update(AuditRecord).where(AuditRecord.seq == 3).values(outcome="forged"),
           unkey=unkey)
    result = audit.verify()
    assert not result.ok
    if not unkey:
        assert result.problem == "row 1 was edited: its content does not match its hash"
    else:  # only the checkpoint file outside the store can tell
        assert "no row is keyed, yet the checkpoint file holds checkpoints" in (
            result.problem or "")


@pytest.mark.parametrize("unkey", [False, True], ids=["keep-key-id", "unkey-rows"])
def test_delete__with_rows_renumbered_and_hashes_recomputed_is_caught(
        store: sa.Engine, audit: AuditLog, unkey: bool) -> None:
    fill(audit)
    attack(store, sa.delete(AuditRecord).where(AuditRecord.seq == 2), unkey=unkey)
    result = audit.verify()
    assert not result.ok and result.seq == 1


def test_truncate__with_the_head_fixed_is_caught(store: sa.Engine, audit: AuditLog) -> None:
    fill(audit)
    attack(store, sa.delete(AuditRecord).where(AuditRecord.seq >= 5))
    result = audit.verify()
    assert not result.ok


def test_truncate__with_an_old_head_replayed_is_caught_by_the_checkpoint(
        store: sa.Engine, audit: AuditLog) -> None:
    fill(audit, 3)
    with session_factory(store)() as session:  # the attacker saw the head at row 3
        old_head = {c.key: getattr(session.get_one(AuditHead, 1), c.key)
                    for c in sa.inspect(AuditHead).column_attrs}
    fill(audit, 3, start=3)
    audit.checkpoint()
    with session_factory(store).begin() as session:
        session.execute(sa.delete(AuditRecord).where(AuditRecord.seq > 3))
        session.execute(sa.update(AuditHead).where(AuditHead.id == 1).values(**old_head))
    result = audit.verify()
    assert not result.ok
    assert "the log ends at row 3 but a checkpoint" in (result.problem or "")
    assert "recorded row 6" in (result.problem or "")


def test_checkpoint__a_forged_line_is_refused(audit: AuditLog, checkpoints: Path) -> None:
    fill(audit, 2)
    audit.checkpoint()
    line: dict[str, Any] = json.loads(checkpoints.read_text().splitlines()[-1])
    checkpoints.write_text(checkpoints.read_text() + json.dumps({**line, "seq": 99}) + "\n")
    result = audit.verify()
    assert not result.ok and "checkpoint" in (result.problem or "")


def test_checkpoints__are_written_as_rows_commit(store: sa.Engine, checkpoints: Path) -> None:
    audit = AuditLog(session_factory(store), Redactor(), keys=AuditKeys.of("k"),
                     checkpoints=checkpoints, checkpoint_seconds=0)
    fill(audit, 3)
    lines = [json.loads(line) for line in checkpoints.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert audit.verify().ok


def test_rotate__old_rows_still_verify_and_the_switch_is_recorded(
        store: sa.Engine, checkpoints: Path) -> None:
    first = audit_log(store, checkpoints, "key-one")
    fill(first, 3)
    first.checkpoint()
    rotated = audit_log(store, checkpoints, "key-two", "key-one")
    fill(rotated, 2, start=3)
    result = rotated.verify()
    assert result.ok and result.checked == 6, result.problem
    switch = [r for r in rotated.tail(10) if r.action == "audit.key_rotated"]
    assert len(switch) == 1 and switch[0].detail is not None
    assert switch[0].detail["from"] == AuditKeys.of("key-one").current.key_id
    assert switch[0].detail["to"] == AuditKeys.of("key-two").current.key_id
    assert "key-one" not in str(switch[0].detail) and "key-two" not in str(switch[0].detail)


def test_rotate__without_the_old_key_verify_names_it(store: sa.Engine,
                                                     checkpoints: Path) -> None:
    fill(audit_log(store, checkpoints, "key-one"), 2)
    fill(audit_log(store, checkpoints, "key-two", "key-one"), 1)
    result = audit_log(store, checkpoints, "key-two").verify()
    old_id = AuditKeys.of("key-one").current.key_id
    assert not result.ok and result.seq == 1
    assert f"written under audit key {old_id}, which is not configured" in (result.problem
                                                                             or "")


def test_wrong_key__verify_fails_clearly(store: sa.Engine, checkpoints: Path) -> None:
    fill(audit_log(store, checkpoints, "the-right-key"), 3)
    result = audit_log(store, checkpoints, "a-wrong-key").verify()
    assert not result.ok and result.seq == 1
    assert "which is not configured" in (result.problem or "")
    assert "the-right-key" not in (result.problem or "")


def test_legacy__unkeyed_rows_verify_and_are_sealed_by_the_first_keyed_write(
        store: sa.Engine, checkpoints: Path) -> None:
    with session_factory(store).begin() as session:  # rows written before the migration
        prev = "0" * 64
        for seq in (1, 2):
            row = AuditRecord(seq=seq, at=sa.func.now(), actor="old", action="x",
                              target=None, outcome="ok", detail=None, prev_hash=prev,
                              hash="")
            session.add(row)
            session.flush()
            session.refresh(row)
            row.hash = _unkeyed_hash(prev, row)
            prev = row.hash
        session.execute(sa.update(AuditHead).where(AuditHead.id == 1)
                        .values(seq=2, hash=prev))
    audit = audit_log(store, checkpoints)
    legacy = audit.verify()
    assert legacy.ok and legacy.unkeyed == 2
    fill(audit, 1)
    sealed = audit.verify()
    assert sealed.ok and sealed.unkeyed == 2 and sealed.checked == 4
    assert [r.action for r in audit.tail(2)] == ["audit.keyed", "thing.change"]


def test_no_key_set__a_key_file_is_made_once_with_0600(tmp_path: Path) -> None:
    from hub.core.settings import Settings

    settings = Settings(audit_key_file=tmp_path / "keys" / "audit.key")
    first = AuditKeys.from_settings(settings)
    again = AuditKeys.from_settings(settings)
    assert first.current.key_id == again.current.key_id
    assert (settings.audit_key_file.stat().st_mode & 0o777) == 0o600
    assert first.source == str(settings.audit_key_file)
