"""The `hub` command: each command end to end, and errors as one line plus an exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import cli
from hub.store.engine import create_engine
from hub.store.models import AuditRecord

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path: Path, crm_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_CONFIG", str(ROOT / "configs/hub.yaml"))
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(ROOT / "mappings"))
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    monkeypatch.setenv("COLUMNS", "200")
    return url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_connectors_list__shows_crm(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "connectors", "list")
    assert code == 0 and "crm" in out and "customers" in out


def test_sync_then_ticket_then_audit(env: str, capsys: pytest.CaptureFixture[str],
                                     crm_sandbox: Any) -> None:
    code, out, _ = run(capsys, "sync", "run", "crm_customers")
    assert code == 0 and "succeeded" in out and "120" in out
    vendor = crm_sandbox.state.customers[2]
    code, out, _ = run(capsys, "tickets", "create", "--subject", "空气净化器异响",
                       "--mobile", vendor["contact"]["mobile"])
    assert code == 0, out
    assert vendor["name"] in out and "Customer 360°" in out
    code, out, _ = run(capsys, "tickets", "show", "1")
    assert code == 0 and vendor["name"] in out
    code, out, _ = run(capsys, "audit", "tail", "-n", "5")
    assert code == 0 and "ticket.enrich" in out
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and "chain intact" in out
    assert crm_sandbox.api_key not in out


def test_audit_verify__edited_row_exits_1_naming_it(env: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "sync", "run", "crm_customers")[0] == 0
    engine = create_engine(env)
    with engine.begin() as connection:
        connection.execute(sa.update(AuditRecord).where(AuditRecord.seq == 7)
                           .values(actor="mallory"))
    engine.dispose()
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1
    assert "row 7 was edited" in err


def test_sync_run__wrong_key_is_one_clear_line(env: str, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_API_KEY", "bad-key-777777")
    code, _, err = run(capsys, "sync", "run", "crm_customers")
    assert code == 4
    assert "API key is missing or invalid" in err and "bad-key-777777" not in err
    assert "Traceback" not in err


def test_config_error__names_file_line_field_and_exits_2(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = tmp_path / "hub.yaml"
    broken.write_text((ROOT / "configs/hub.yaml").read_text(encoding="utf-8")
                      .replace("stream: customers", "stream: customers\n    strem: x"),
                      encoding="utf-8")
    monkeypatch.setenv("HUB_CONFIG", str(broken))
    code, _, err = run(capsys, "config", "validate")
    assert code == 2
    line = broken.read_text(encoding="utf-8").splitlines().index("    strem: x") + 1
    assert f"{broken}, line {line}, field 'jobs.crm_customers.strem': unknown field" in " ".join(
        err.split())


def test_mappings_validate__ok_and_broken(env: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(capsys, "mappings", "validate")
    assert code == 0 and "crm_customer" in out
    (tmp_path / "bad.yaml").write_text("fields:\n  a:\n    path: a\n    requried: true\n",
                                       encoding="utf-8")
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(tmp_path))
    code, _, err = run(capsys, "mappings", "validate", "bad")
    assert code == 2 and "line 4, column 5, field 'fields.a.requried'" in err
    assert "did you mean 'required'" in err


def test_tickets_show__missing_exits_3(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "db", "upgrade")
    code, _, err = run(capsys, "tickets", "show", "77")
    assert code == 3 and "no ticket 77" in err


def test_tickets_create__bad_mobile_names_the_option(env: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "tickets", "create", "--subject", "x", "--mobile", "123")
    assert code == 2 and "--mobile" in err


def test_audit_verify__needs_no_connection_secrets(env: str, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    monkeypatch.delenv("CRM_API_KEY")
    code, out, err = run(capsys, "audit", "verify")
    assert code == 0, err
    assert run(capsys, "tickets", "list")[0] == 0


@pytest.mark.slow
def _agent_key() -> str:
    from hub.access.apikeys import create_key
    from hub.core.settings import get_settings
    from hub.runtime import Hub

    hub = Hub(get_settings())
    try:
        return create_key(hub, name="serve test", role="agent", actor="test").key
    finally:
        hub.close()


def test_serve__answers_on_its_port(env: str, tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "cli", "serve", "--port", str(port)]
    with subprocess.Popen(command, cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL) as process:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                    break
                except httpx.TransportError:
                    assert process.poll() is None, "hub serve exited"
                    assert time.monotonic() < deadline, "hub serve did not come up"
                    time.sleep(0.1)
            assert health.json()["status"] == "ok"
            anonymous = httpx.post(f"http://127.0.0.1:{port}/tickets", timeout=30,
                                   json={"subject": "屏幕碎了"})
            assert anonymous.status_code == 401
            key = _agent_key()
            created = httpx.post(f"http://127.0.0.1:{port}/tickets", timeout=30,
                                 headers={"Authorization": f"Bearer {key}"},
                                 json={"subject": "屏幕碎了", "mobile": "13900000000"})
            assert created.status_code == 201
        finally:
            process.terminate()


def test_connectors_spec__json_schema_marks_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out, _ = run(capsys, "connectors", "spec", "crm")
    schema = json.loads(out)
    assert code == 0
    assert "base_url" in schema["required"] and "api_key" in schema["required"]
    assert schema["properties"]["api_key"]["writeOnly"] is True


def test_connectors_check__structured(env: str, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    code, out, _ = run(capsys, "connectors", "check", "crm", "--json")
    result = json.loads(out)
    assert code == 0
    assert (result["reachable"], result["authenticated"], result["permitted"]) == (True,) * 3
    assert result["latency_ms"] > 0
    monkeypatch.setenv("CRM_API_KEY", "bad-key-888888")
    code, out, _ = run(capsys, "connectors", "check", "crm", "--json")
    result = json.loads(out)
    assert code == 5
    assert (result["reachable"], result["authenticated"]) == (True, False)
    assert "bad-key-888888" not in out


def test_connectors_new__scaffolds_a_plugin(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "connectors", "new", "acme_crm", "--dest", str(tmp_path))
    assert code == 0
    plugin = tmp_path / "hub-connector-acme-crm"
    assert (plugin / "pyproject.toml").is_file()
    assert 'acme_crm = "' in (plugin / "pyproject.toml").read_text(encoding="utf-8")
    code, _, err = run(capsys, "connectors", "new", "Bad Name", "--dest", str(tmp_path))
    assert code == 2 and "Bad Name" in err
