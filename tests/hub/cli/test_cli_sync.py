"""`hub sync run JOB [--full-refresh]` and `hub sync reset JOB [--to VALUE]`: a vendor's refusal
is one clear line, without the secret; a reset makes the next run read everything again."""

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


def test_sync_reset_and_full_refresh__read_everything_again_audited(crm_env: CliEnv,
                                                                    run: Run) -> None:
    assert run("sync", "run", "crm_customers")[0] == 0
    code, out, err = run("sync", "reset", "crm_customers")
    assert code == 0, err
    assert "cursor forgotten (was '" in out and "reads the whole stream" in out
    code, out, err = run("sync", "run", "crm_customers")
    assert code == 0 and "Run 2 of crm_customers: succeeded" in out
    assert " 120 " in out  # every customer read again (all unchanged)
    code, out, _ = run("sync", "reset", "crm_customers", "--to", "2030-01-01T00:00:00+08:00")
    assert code == 0 and "cursor set to '2030-01-01T00:00:00+08:00'" in out
    code, out, err = run("sync", "run", "crm_customers", "--full-refresh")
    assert code == 0, err
    code, out, _ = run("audit", "tail", "-n", "1000")
    assert out.count("job.reset") == 3


def test_sync_reset__unknown_job_is_one_line_exit_3(crm_env: CliEnv, run: Run) -> None:
    code, _, err = run("sync", "reset", "crm_customer")
    assert code == 3 and "no job 'crm_customer'" in err and "Traceback" not in err
