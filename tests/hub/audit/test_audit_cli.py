"""`hub audit checkpoint` and `hub audit verify`: a truncation past a checkpoint exits 1;
rotating HUB_AUDIT_KEY with the old key in HUB_AUDIT_OLD_KEYS keeps old rows verifiable."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import cli
from hub.audit import AuditEntry
from hub.core.settings import get_settings
from hub.runtime import Hub
from hub.store.models import AuditHead, AuditRecord


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_AUDIT_KEY", "key-one-for-the-cli-test")
    monkeypatch.setenv("HUB_AUDIT_CHECKPOINTS", str(tmp_path / "audit.checkpoints"))
    monkeypatch.setenv("COLUMNS", "200")
    return url


def write_rows(n: int) -> Hub:
    hub = Hub(get_settings())
    hub.upgrade_db()
    for i in range(n):
        hub.audit.record([AuditEntry("tester", "thing.change", f"thing:{i}")])
    return hub


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_verify__truncation_past_a_checkpoint_exits_1(
        store: str, capsys: pytest.CaptureFixture[str]) -> None:
    hub = write_rows(3)
    with hub.sessions() as session:
        head = session.get_one(AuditHead, 1)
        saved = {"seq": head.seq, "hash": head.hash, "key_id": head.key_id, "mac": head.mac}
    hub.audit.record([AuditEntry("tester", "thing.change", "thing:3")])
    assert run(capsys, "audit", "checkpoint")[1].startswith("checkpoint: row 4")
    with hub.sessions.begin() as session:
        session.execute(sa.delete(AuditRecord).where(AuditRecord.seq == 4))
        session.execute(sa.update(AuditHead).values(**saved))
    hub.close()
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1
    assert "the log ends at row 3 but a checkpoint" in err and "recorded row 4" in err


def test_verify__after_a_rotation_old_rows_verify(
        store: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
        ) -> None:
    write_rows(2).close()
    monkeypatch.setenv("HUB_AUDIT_KEY", "key-two-for-the-cli-test")
    monkeypatch.setenv("HUB_AUDIT_OLD_KEYS", "key-one-for-the-cli-test")
    write_rows(1).close()
    code, out, err = run(capsys, "audit", "verify")
    assert code == 0, err
    assert "4 audit rows, chain intact" in out
    monkeypatch.delenv("HUB_AUDIT_OLD_KEYS")
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1 and "which is not configured" in err
    assert "key-one" not in err
