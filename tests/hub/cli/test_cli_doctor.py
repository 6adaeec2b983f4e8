"""`hub doctor`: config, store and every connection, each finding in plain words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port

from .conftest import CliEnv, Run

CONFIG = """
version: 1
connections:
  crm:
    type: crm
    config:
      base_url: {crm_url}
      api_key: ${{CRM_API_KEY}}
  kingdee:
    type: kingdee
    config:
      base_url: http://127.0.0.1:{closed}/k3cloud/
      acct_id: a1
      username: webapi
      password: secret-password-1
      timeout: 2
jobs:
  crm_customers:
    kind: pull
    connection: crm
    stream: customers
    mapping: crm_customer
"""


@pytest.fixture
def doctor_env(env: CliEnv, crm_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`env` on a config of two connections: the CRM sandbox, and an ERP nobody answers for;
    no store yet (the doctor's first run meets one never upgraded)."""
    Path(env.database_url.removeprefix("sqlite:///")).unlink()
    config = env.dir / "hub.yaml"
    config.write_text(CONFIG.format(crm_url=crm_sandbox.url, closed=free_port()))
    monkeypatch.setenv("HUB_CONFIG", str(config))
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    return env.dir


def test_doctor__a_fresh_store_needs_an_upgrade(doctor_env: Path,
                                                run: Run) -> None:
    code, out, _ = run("doctor")
    assert code == 1 and "run `hub db upgrade`" in out


def test_doctor__names_the_connection_that_is_down_and_passes_the_rest(
    doctor_env: Path, run: Run
) -> None:
    assert run("db", "upgrade")[0] == 0
    code, out, _ = run("doctor")
    lines = {line.split()[1]: line for line in out.splitlines() if len(line.split()) > 1}
    assert code == 1
    assert lines["connection:crm"].split()[0] == "ok"
    assert "not reachable" in lines["connection:kingdee"]
    assert lines["store"].split()[0] == "ok" and lines["config"].split()[0] == "ok"
    assert "secret-password-1" not in out


def test_doctor__a_config_problem_is_named_with_its_line(
    doctor_env: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_API_KEY")
    code, out, _ = run("doctor")
    assert code == 2 and "CRM_API_KEY is not set" in out and "line" in out  # as config validate


def test_doctor__checks_the_celery_broker_when_one_is_configured(
    doctor_env: Path, run: Run, monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
) -> None:
    assert run("db", "upgrade")[0] == 0
    monkeypatch.setenv("HUB_BROKER_URL", f"redis://:broker-pass-77@127.0.0.1:{free_port()}/1")
    code, out, _ = run("doctor")
    broker = next(line for line in out.splitlines() if " broker " in f" {line} ")
    assert code == 1 and "does not answer" in broker and "HUB_BROKER_URL" in broker
    assert "broker-pass-77" not in out
    monkeypatch.setenv("HUB_BROKER_URL", redis_url)  # answers, but the store is SQLite
    code, out, _ = run("doctor")
    broker = next(line for line in out.splitlines() if " broker " in f" {line} ")
    assert "store is SQLite" in broker and "PostgreSQL" in broker


def test_doctor__says_where_the_audit_key_comes_from(doctor_env: Path, run: Run,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_AUDIT_KEY_FILE", str(doctor_env / "audit.key"))
    _, out, _ = run("doctor")
    assert f"will be generated on the first write in {doctor_env / 'audit.key'}" in out
    assert not (doctor_env / "audit.key").exists()  # doctor writes no key
    monkeypatch.setenv("HUB_AUDIT_KEY", "k" * 40)
    _, out, _ = run("doctor")
    assert "signed with HUB_AUDIT_KEY" in out and "k" * 40 not in out
