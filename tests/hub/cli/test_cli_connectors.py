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


_ERP_CONFIG = """
version: 1
connections:
  yonyou:
    type: yonyou
    config:
      base_url: {yonyou}
      tenant_id: {tenant}
      app_key: {app_key}
      app_secret: ${{YY_SECRET}}
  kingdee:
    type: kingdee
    config:
      base_url: {kingdee}/k3cloud/
      acct_id: {acct_id}
      username: {username}
      auth: app_secret
      app_id: {app_id}
      app_secret: ${{KD_SECRET}}
"""


def test_connectors_check__a_wrong_secret_fails_though_the_store_holds_a_good_token(
    env: CliEnv, run: Run, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The token a right secret bought sits in the store; a connection with a wrong secret
    must not borrow it (the cache key carries a digest of the secret), so check fails."""
    import json

    from connectors.kingdee.sandbox import create_app as kingdee_app
    from connectors.kingdee.sandbox.auth import Credentials
    from connectors.sdk.sandbox import serve
    from connectors.yonyou.sandbox import APP_KEY, APP_SECRET, TENANT_ID
    from connectors.yonyou.sandbox import create_app as yonyou_app

    creds = Credentials()
    yonyou = yonyou_app(latency_ms=0)
    with serve(yonyou) as yy_url, serve(kingdee_app(latency_ms=0)) as kd_url:
        config = env.dir / "erp.yaml"
        config.write_text(_ERP_CONFIG.format(
            yonyou=yy_url, tenant=TENANT_ID, app_key=APP_KEY, kingdee=kd_url,
            acct_id=creds.acct_id, username=creds.username, app_id=creds.app_id), "utf-8")
        monkeypatch.setenv("HUB_CONFIG", str(config))
        monkeypatch.setenv("YY_SECRET", APP_SECRET)
        monkeypatch.setenv("KD_SECRET", creds.app_secret)
        for name in ("yonyou", "kingdee"):
            code, out, _ = run("connectors", "check", name, "--json")
            assert code == 0, out
        assert yonyou.state.sandbox.auth.token_calls == 1  # the store holds a good token

        monkeypatch.setenv("YY_SECRET", "not-the-app-secret-0001")
        monkeypatch.setenv("KD_SECRET", "fedcba9876543210fedcba9876543210")
        for name in ("yonyou", "kingdee"):
            code, out, _ = run("connectors", "check", name, "--json")
            result = json.loads(out)
            assert code == 5, out
            assert (result["reachable"], result["authenticated"]) == (True, False), name
            assert "not-the-app-secret" not in out and "fedcba98765" not in out
