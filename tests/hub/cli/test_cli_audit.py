"""`hub audit tail|verify|checkpoint`: an edited row or a truncation past a checkpoint exits 1
naming it; rotating HUB_AUDIT_KEY with the old key in HUB_AUDIT_OLD_KEYS keeps old rows
verifiable; verifying needs no connection's secrets."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.audit import AuditEntry
from hub.core.settings import get_settings
from hub.runtime import Hub
from hub.store.engine import create_engine
from hub.store.models import AuditHead, AuditRecord

from .conftest import CliEnv, Run


@pytest.fixture
def store(env: CliEnv, monkeypatch: pytest.MonkeyPatch) -> CliEnv:
    """`env`, with the chain keyed and its checkpoints kept beside the store."""
    monkeypatch.setenv("HUB_AUDIT_KEY", "key-one-for-the-cli-test")
    monkeypatch.setenv("HUB_AUDIT_CHECKPOINTS", str(env.dir / "audit.checkpoints"))
    return env


def write_rows(n: int) -> Hub:
    hub = Hub(get_settings())
    hub.upgrade_db()
    for i in range(n):
        hub.audit.record([AuditEntry("tester", "thing.change", f"thing:{i}")])
    return hub


def test_verify__truncation_past_a_checkpoint_exits_1(
        store: CliEnv, run: Run) -> None:
    hub = write_rows(3)
    with hub.sessions() as session:
        head = session.get_one(AuditHead, 1)
        saved = {"seq": head.seq, "hash": head.hash, "key_id": head.key_id, "mac": head.mac}
    hub.audit.record([AuditEntry("tester", "thing.change", "thing:3")])
    assert run("audit", "checkpoint")[1].startswith("checkpoint: row 4")
    with hub.sessions.begin() as session:
        session.execute(sa.delete(AuditRecord).where(AuditRecord.seq == 4))
        session.execute(sa.update(AuditHead).values(**saved))
    hub.close()
    code, _, err = run("audit", "verify")
    assert code == 1
    assert "the log ends at row 3 but a checkpoint" in err and "recorded row 4" in err


def test_verify__after_a_rotation_old_rows_verify(
        store: CliEnv, run: Run, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    write_rows(2).close()
    monkeypatch.setenv("HUB_AUDIT_KEY", "key-two-for-the-cli-test")
    monkeypatch.setenv("HUB_AUDIT_OLD_KEYS", "key-one-for-the-cli-test")
    write_rows(1).close()
    code, out, err = run("audit", "verify")
    assert code == 0, err
    assert "4 audit rows, chain intact" in out
    monkeypatch.delenv("HUB_AUDIT_OLD_KEYS")
    code, _, err = run("audit", "verify")
    assert code == 1 and "which is not configured" in err
    assert "key-one" not in err


def test_audit_verify__edited_row_exits_1_naming_it(crm_env: CliEnv,
                                                    run: Run) -> None:
    assert run("sync", "run", "crm_customers")[0] == 0
    engine = create_engine(crm_env.database_url)
    with engine.begin() as connection:
        connection.execute(sa.update(AuditRecord).where(AuditRecord.seq == 7)
                           .values(actor="mallory"))
    engine.dispose()
    code, _, err = run("audit", "verify")
    assert code == 1
    assert "row 7 was edited" in err


def test_audit_verify__needs_no_connection_secrets(crm_env: CliEnv, run: Run,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("db", "upgrade")[0] == 0
    monkeypatch.delenv("CRM_API_KEY")
    code, out, err = run("audit", "verify")
    assert code == 0, err
    assert run("tickets", "list")[0] == 0
