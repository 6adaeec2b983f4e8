"""`hub jobs list`, `hub runs list|show`: run history in the terminal."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.core.settings import Settings
from hub.runtime import Hub
from hub.store.models import Run as RunRow

from .conftest import CliEnv, Run


def test_runs_and_jobs__after_a_pull(crm_env: CliEnv, run: Run) -> None:
    assert run("sync", "run", "crm_customers")[0] == 0
    hub = Hub(Settings(database_url=crm_env.database_url))
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        failed = RunRow(job="crm_customers", kind="pull", trigger="schedule", status="partial",
                     started_at=now, finished_at=now, duration_ms=1200, read=3, rejected=1,
                     errors={"records": [{"key": "C9", "message": "mobile: '12' is not a "
                                                                "mobile number"}]})
        session.add(failed)
        session.flush()
        failed_id = failed.id
    hub.close()

    code, jobs, _ = run("jobs", "list")
    assert code == 0 and "crm_customers" in jobs and "partial" in jobs
    assert "erp_refunds" in jobs and "never run" in jobs
    code, runs, _ = run("runs", "list", "--job", "crm_customers")
    assert code == 0 and "succeeded" in runs and "partial" in runs and "120" in runs
    code, shown, _ = run("runs", "show", str(failed_id))
    assert code == 0 and "C9" in shown and "is not a mobile number" in shown
    assert run("runs", "show", "999")[0] == 3  # not found


def test_jobs__pause_trigger_here_resume(crm_env: CliEnv, run: Run) -> None:
    assert run("jobs", "pause", "crm_customers")[:2] == (0, "crm_customers: paused\n")
    code, jobs, _ = run("jobs", "list")
    line = next(row for row in jobs.splitlines() if "crm_customers" in row)
    assert code == 0 and "paused" in line and "every 15m" in line
    code, ran, _ = run("jobs", "trigger", "crm_customers", "--here")
    assert code == 0 and "succeeded" in ran and "'created': 120" in ran
    code, asked, _ = run("jobs", "trigger", "sla_clock")
    assert code == 0 and "asked for" in asked
    assert run("jobs", "resume", "crm_customers")[1] == "crm_customers: resumed\n"
    assert run("jobs", "pause", "no_such_job")[0] == 3
