"""`hub config validate`: a config error names its file, line and field, and exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import ROOT, CliEnv, Run


def test_config_error__names_file_line_field_and_exits_2(
    crm_env: CliEnv, tmp_path: Path, run: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = tmp_path / "hub.yaml"
    broken.write_text((ROOT / "configs/hub.yaml").read_text(encoding="utf-8")
                      .replace("stream: customers", "stream: customers\n    strem: x"),
                      encoding="utf-8")
    monkeypatch.setenv("HUB_CONFIG", str(broken))
    code, _, err = run("config", "validate")
    assert code == 2
    line = broken.read_text(encoding="utf-8").splitlines().index("    strem: x") + 1
    assert f"{broken}, line {line}, field 'jobs.crm_customers.strem': unknown field" in " ".join(
        err.split())
