from __future__ import annotations

from hub.reports import ReportWindow, sync_freshness
from hub.runtime import Hub
from hub.store.models import JobSchedule, Run, SyncState

from .conftest import NOW, add, hours


def _run(job: str, status: str, started_hours_ago: float, kind: str = "pull") -> Run:
    started = NOW - hours(started_hours_ago)
    return Run(job=job, kind=kind, trigger="schedule", status=status, started_at=started,
               finished_at=started + hours(0.01))


def test_sync_freshness__last_success_age_lag_and_staleness(report_hub: Hub) -> None:
    add(report_hub,
        _run("crm_customers", "succeeded", 3), _run("crm_customers", "failed", 1),
        _run("kb_articles", "succeeded", 0.5),
        _run("retired_pull", "succeeded", 100),  # no longer in hub.yaml
        _run("erp_refunds", "succeeded", 1, kind="writeback"),  # not a pull
        JobSchedule(job="crm_customers", paused=False, next_due_at=NOW - hours(0.25),
                    updated_at=NOW),
        JobSchedule(job="kb_articles", paused=True, next_due_at=NOW - hours(5),
                    updated_at=NOW),
        SyncState(job="crm_customers", state="{}", updated_at=NOW - hours(3)))
    found = {job.job: job for job in sync_freshness(report_hub, ReportWindow(now=NOW))}
    assert set(found) == {"crm_customers", "yonyou_customers", "kb_articles", "retired_pull"}
    crm = found["crm_customers"]
    assert (crm.connection, crm.last_status, crm.paused) == ("crm", "failed", False)
    assert crm.age_s == round((3 - 0.01) * 3600, 1)
    assert crm.lag_s == 900.0
    assert crm.state_updated_at == NOW - hours(3)
    assert (crm.interval_s, crm.stale) == (900.0, True)  # every 15 min, 3 h since a success
    kb = found["kb_articles"]
    assert (kb.paused, kb.lag_s, kb.stale) == (True, 0.0, False)  # paused: never late
    yonyou = found["yonyou_customers"]
    assert (yonyou.last_success_at, yonyou.age_s, yonyou.stale) == (None, None, True)
    assert found["retired_pull"].connection is None
