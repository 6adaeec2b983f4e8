"""`hub jobs list`, `hub runs list|show`: run history in the terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import cli
from hub.core.settings import Settings
from hub.runtime import Hub
from hub.store.models import Run

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crm_sandbox: Any) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_CONFIG", str(ROOT / "configs/hub.yaml"))
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(ROOT / "mappings"))
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    monkeypatch.setattr(cli.out, "width", 220)
    return url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(list(args))
    return code, capsys.readouterr().out


def test_runs_and_jobs__after_a_pull(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "sync", "run", "crm_customers")[0] == 0
    hub = Hub(Settings(database_url=env))
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        failed = Run(job="crm_customers", kind="pull", trigger="schedule", status="partial",
                     started_at=now, finished_at=now, duration_ms=1200, read=3, rejected=1,
                     errors={"records": [{"key": "C9", "message": "mobile: '12' is not a "
                                                                "mobile number"}]})
        session.add(failed)
        session.flush()
        failed_id = failed.id
    hub.close()

    code, jobs = run(capsys, "jobs", "list")
    assert code == 0 and "crm_customers" in jobs and "partial" in jobs
    assert "erp_refunds" in jobs and "never run" in jobs
    code, runs = run(capsys, "runs", "list", "--job", "crm_customers")
    assert code == 0 and "succeeded" in runs and "partial" in runs and "120" in runs
    code, shown = run(capsys, "runs", "show", str(failed_id))
    assert code == 0 and "C9" in shown and "is not a mobile number" in shown
    assert run(capsys, "runs", "show", "999")[0] == 3  # not found


def test_jobs__pause_trigger_here_resume(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "jobs", "pause", "crm_customers") == (0, "crm_customers: paused\n")
    code, jobs = run(capsys, "jobs", "list")
    line = next(row for row in jobs.splitlines() if "crm_customers" in row)
    assert code == 0 and "paused" in line and "every 15m" in line
    code, ran = run(capsys, "jobs", "trigger", "crm_customers", "--here")
    assert code == 0 and "succeeded" in ran and "'created': 120" in ran
    code, asked = run(capsys, "jobs", "trigger", "sla_clock")
    assert code == 0 and "asked for" in asked
    assert run(capsys, "jobs", "resume", "crm_customers")[1] == "crm_customers: resumed\n"
    assert run(capsys, "jobs", "pause", "no_such_job")[0] == 3
