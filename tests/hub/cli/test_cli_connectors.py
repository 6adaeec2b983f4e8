"""`hub connectors list|spec|check|new`: the plugins, their config schema, a probe, a scaffold."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import CliEnv, Run


def test_connectors_list__shows_crm(run: Run) -> None:
    code, out, _ = run("connectors", "list")
    assert code == 0 and "crm" in out and "customers" in out


def test_connectors_spec__json_schema_marks_secrets(run: Run) -> None:
    import json

    code, out, _ = run("connectors", "spec", "crm")
    schema = json.loads(out)
    assert code == 0
    assert "base_url" in schema["required"] and "api_key" in schema["required"]
    assert schema["properties"]["api_key"]["writeOnly"] is True


def test_connectors_check__structured(crm_env: CliEnv, run: Run,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    code, out, _ = run("connectors", "check", "crm", "--json")
    result = json.loads(out)
    assert code == 0
    assert (result["reachable"], result["authenticated"], result["permitted"]) == (True,) * 3
    assert result["latency_ms"] > 0
    monkeypatch.setenv("CRM_API_KEY", "bad-key-888888")
    code, out, _ = run("connectors", "check", "crm", "--json")
    result = json.loads(out)
    assert code == 5
    assert (result["reachable"], result["authenticated"]) == (True, False)
    assert "bad-key-888888" not in out


def test_connectors_new__scaffolds_a_plugin(tmp_path: Path,
                                            run: Run) -> None:
    code, out, _ = run("connectors", "new", "acme_crm", "--dest", str(tmp_path))
    assert code == 0
    plugin = tmp_path / "hub-connector-acme-crm"
    assert (plugin / "pyproject.toml").is_file()
    assert 'acme_crm = "' in (plugin / "pyproject.toml").read_text(encoding="utf-8")
    code, _, err = run("connectors", "new", "Bad Name", "--dest", str(tmp_path))
    assert code == 2 and "Bad Name" in err
