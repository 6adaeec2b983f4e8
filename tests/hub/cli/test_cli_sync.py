"""`hub sync run JOB`: a vendor's refusal is one clear line, without the secret."""

from __future__ import annotations

import pytest

from .conftest import CliEnv, Run


def test_sync_run__wrong_key_is_one_clear_line(crm_env: CliEnv, run: Run,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_API_KEY", "bad-key-777777")
    code, _, err = run("sync", "run", "crm_customers")
    assert code == 4
    assert "API key is missing or invalid" in err and "bad-key-777777" not in err
    assert "Traceback" not in err
