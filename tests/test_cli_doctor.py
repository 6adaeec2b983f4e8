"""`hub doctor`: config, store and every connection, each finding in plain words."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

import cli

ROOT = Path(__file__).resolve().parent.parent
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


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crm_sandbox: Any) -> Path:
    config = tmp_path / "hub.yaml"
    config.write_text(CONFIG.format(crm_url=crm_sandbox.url, closed=_closed_port()))
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.setenv("HUB_CONFIG", str(config))
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(ROOT / "mappings"))
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    monkeypatch.setattr(cli.out, "width", 300)
    return tmp_path


def doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["doctor"])
    return code, capsys.readouterr().out


def test_doctor__a_fresh_store_needs_an_upgrade(env: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out = doctor(capsys)
    assert code == 1 and "run `hub db upgrade`" in out


def test_doctor__names_the_connection_that_is_down_and_passes_the_rest(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["db", "upgrade"]) == 0
    code, out = doctor(capsys)
    lines = {line.split()[1]: line for line in out.splitlines() if len(line.split()) > 1}
    assert code == 1
    assert lines["connection:crm"].split()[0] == "ok"
    assert "not reachable" in lines["connection:kingdee"]
    assert lines["store"].split()[0] == "ok" and lines["config"].split()[0] == "ok"
    assert "secret-password-1" not in out


def test_doctor__a_config_problem_is_named_with_its_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_API_KEY")
    code, out = doctor(capsys)
    assert code == 2 and "CRM_API_KEY is not set" in out and "line" in out  # as config validate


def test_doctor__checks_the_celery_broker_when_one_is_configured(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
) -> None:
    assert cli.main(["db", "upgrade"]) == 0
    monkeypatch.setenv("HUB_BROKER_URL", f"redis://:broker-pass-77@127.0.0.1:{_closed_port()}/1")
    code, out = doctor(capsys)
    broker = next(line for line in out.splitlines() if " broker " in f" {line} ")
    assert code == 1 and "does not answer" in broker and "HUB_BROKER_URL" in broker
    assert "broker-pass-77" not in out
    monkeypatch.setenv("HUB_BROKER_URL", redis_url)  # answers, but the store is SQLite
    code, out = doctor(capsys)
    broker = next(line for line in out.splitlines() if " broker " in f" {line} ")
    assert "store is SQLite" in broker and "PostgreSQL" in broker


def test_doctor__says_where_the_audit_key_comes_from(env: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_AUDIT_KEY_FILE", str(env / "audit.key"))
    _, out = doctor(capsys)
    assert f"will be generated on the first write in {env / 'audit.key'}" in out
    assert not (env / "audit.key").exists()  # doctor writes no key
    monkeypatch.setenv("HUB_AUDIT_KEY", "k" * 40)
    _, out = doctor(capsys)
    assert "signed with HUB_AUDIT_KEY" in out and "k" * 40 not in out
