"""Operating jobs over the API: pause, resume and trigger (admins), audited as the caller."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hub.runtime import Hub
from hub.store.models import AuditRecord, JobSchedule


def test_jobs__pause_resume_trigger_show_in_the_job_list(hub: Hub, api_client: Any) -> None:
    with api_client(hub, role="admin") as api:
        paused = api.post("/jobs/crm_customers/pause")
        again = api.post("/jobs/crm_customers/pause")
        listed = {job["name"]: job for job in api.get("/jobs").json()["items"]}
        triggered = api.post("/jobs/crm_customers/trigger")
        resumed = api.post("/jobs/crm_customers/resume")
        after = {job["name"]: job for job in api.get("/jobs").json()["items"]}
        missing = api.post("/jobs/no_such_job/pause")
    assert paused.status_code == 200 and paused.json()["changed"] is True
    assert again.json()["changed"] is False
    crm = listed["crm_customers"]
    assert crm["paused"] is True and crm["next_run_at"] is None
    assert crm["schedule"] == "every 15m"
    assert listed["sla_clock"]["connection"] is None and listed["sla_clock"]["kind"] == "notify"
    assert triggered.status_code == 202 and triggered.json()["requested_at"]
    assert resumed.json()["changed"] is True and after["crm_customers"]["paused"] is False
    assert after["crm_customers"]["next_run_at"] is not None
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    with hub.sessions() as session:
        row = session.get_one(JobSchedule, "crm_customers")
        actors = session.scalars(sa.select(AuditRecord.actor).where(
            AuditRecord.action.in_(["job.pause", "job.trigger", "job.resume"]))).all()
    assert row.trigger_requested_at is not None and not row.paused
    assert len(actors) == 3 and all(actor.startswith("api:apikey:") for actor in actors)


def test_jobs__integrators_and_admins_operate_jobs_agents_do_not(hub: Hub,
                                                                   api_client: Any) -> None:
    with api_client(hub, role="agent", scopes=()) as api:
        agent = api.post("/jobs/crm_customers/trigger")
    assert agent.status_code == 403
    with hub.sessions() as session:
        assert session.get(JobSchedule, "crm_customers") is None
    with api_client(hub, role="integrator", scopes=()) as api:
        listed = api.get("/jobs")
        paused = api.post("/jobs/crm_customers/pause")
    assert listed.status_code == 200 and paused.status_code == 200, paused.text
    with hub.sessions() as session:
        schedule = session.get(JobSchedule, "crm_customers")
        assert schedule is not None and schedule.paused
        assert (schedule.paused_by or "").startswith("api:apikey:")


async def test_jobs__reset_and_full_refresh_over_the_api(hub: Hub, api_client: Any) -> None:
    from hub.store.models import SyncState
    from hub.sync import open_run, run_pull

    await run_pull(hub, "crm_customers")
    with hub.sessions() as session:
        cursor = session.get_one(SyncState, "crm_customers").state
    with api_client(hub, role="integrator", scopes=()) as api:
        set_to = api.post("/jobs/crm_customers/reset", json={"to": "2030-01-01T00:00:00Z"})
        forgotten = api.post("/jobs/crm_customers/reset")
        extra = api.post("/jobs/crm_customers/reset", json={"to": "x", "keys": {}})
        blank = api.post("/jobs/crm_customers/reset", json={"to": ""})
        not_pull = api.post("/jobs/sla_clock/reset")
        refreshed = api.post("/jobs/crm_customers/trigger", params={"full_refresh": "true"})
    assert set_to.status_code == 200, set_to.text
    assert set_to.json() == {"job": "crm_customers", "cursor_before": cursor,
                             "cursor_after": "2030-01-01T00:00:00Z"}
    assert forgotten.json()["cursor_before"] == "2030-01-01T00:00:00Z"
    assert forgotten.json()["cursor_after"] is None
    assert extra.status_code == 422 and blank.status_code == 422
    assert not_pull.status_code == 422 and "not a pull job" in not_pull.text
    assert refreshed.status_code == 202
    open_run(hub, "crm_customers", trigger="manual")  # a run holds the job now
    with api_client(hub, role="admin") as api:
        busy = api.post("/jobs/crm_customers/reset")
        busy_trigger = api.post("/jobs/crm_customers/trigger", params={"full_refresh": True})
    with api_client(hub, role="agent", scopes=()) as api:
        agent = api.post("/jobs/crm_customers/reset")
    assert busy.status_code == 409 and "reset it once the run has ended" in busy.text
    assert busy_trigger.status_code == 409 and agent.status_code == 403
    with hub.sessions() as session:
        actors = session.scalars(sa.select(AuditRecord.actor).where(
            AuditRecord.action == "job.reset")).all()
    assert len(actors) == 3 and all(actor.startswith("api:apikey:") for actor in actors)
