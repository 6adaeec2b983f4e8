"""The console's jobs and runs in a real Chromium against `hub serve`: a pull job's cursor
shown and reset after a confirmation step (from the start, or to a typed value) through the
service `hub sync reset` calls, audited as the person; CSRF and roles refused; a run's parts
drawn on a timeline, the same one its progress answer carries."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from hub.audit.query import query_audit
from hub.jobs.run_parts import run_parts
from hub.jobs.run_queries import list_runs
from hub.store.models import Run, RunSlice
from hub.sync.reset import job_cursors

from .conftest import ConsoleServer, shoot, sign_in

JOB = "crm_customers"
SVG = "{http://www.w3.org/2000/svg}"


def _resets(server: ConsoleServer) -> list[Any]:
    return query_audit(server.hub.sessions, action="job.reset", limit=100).items


def test_jobs__cursor_shown_and_reset_with_confirmation_audited_as_the_person(
        console_server: ConsoleServer, new_page: Any) -> None:
    hub = console_server.hub
    before = job_cursors(hub, [JOB])[JOB]  # the seed's pull left a cursor
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.integrator, path="/jobs")
    assert page.locator(f"[data-cursor={JOB}]").inner_text() == str(before)
    page.click(f"a[data-reset={JOB}]")
    page.wait_for_url(re.compile(rf"/jobs/{JOB}/reset$"))
    assert page.locator("#cursor-now").inner_text() == str(before)
    shoot(page, "job-reset-confirm")
    page.check("#mode-value")  # a value asked for, none typed: shown back, nothing changed
    with page.expect_response(re.compile(r"/reset$")) as answer:
        page.click("#reset-confirm")
    assert answer.value.status == 400
    assert "Type a cursor value" in page.locator("#reset-error").inner_text()
    assert job_cursors(hub, [JOB])[JOB] == before and not _resets(console_server)

    page.check("#mode-value")
    page.fill("#reset-to", "2026-03-01T00:00:00+08:00")
    page.click("#reset-confirm")
    page.wait_for_url(re.compile(rf"/jobs\?reset={JOB}$"))
    assert f"The cursor of job {JOB} was reset." in page.locator(".notice.ok").inner_text()
    assert job_cursors(hub, [JOB]) == {JOB: "2026-03-01T00:00:00+08:00"}
    assert page.locator(f"[data-cursor={JOB}]").inner_text() == "2026-03-01T00:00:00+08:00"
    prefix = console_server.keys.integrator.split("_")[1]
    [row] = _resets(console_server)
    assert (row.actor, row.target) == (f"console:apikey:{prefix}", f"job:{JOB}")
    assert row.detail == {"cursor_before": before, "cursor_after": "2026-03-01T00:00:00+08:00"}

    page.click(f"a[data-reset={JOB}]")
    page.click("#reset-confirm")  # from the start: the default choice
    page.wait_for_url(re.compile(rf"/jobs\?reset={JOB}$"))
    shoot(page, "jobs-after-reset")
    assert job_cursors(hub, [JOB]) == {}
    assert page.locator(f"[data-cursor={JOB}]").inner_text() == \
        "none (next run reads from the start)"
    newest = _resets(console_server)[0]
    assert newest.detail == {"cursor_before": "2026-03-01T00:00:00+08:00",
                             "cursor_after": None}


def test_jobs__reset_refused_without_csrf_and_to_agents(console_server: ConsoleServer,
                                                        new_page: Any) -> None:
    hub = console_server.hub
    hub_cursor = job_cursors(hub, [JOB])
    resets = len(_resets(console_server))
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.admin, path=f"/jobs/{JOB}/reset")
    page.locator("#reset-form input[name=csrf]").evaluate("el => el.remove()")
    with page.expect_response(re.compile(r"/reset$")) as answer:
        page.click("#reset-confirm")
    assert answer.value.status == 403
    assert "CSRF" in page.locator(".notice.error").inner_text()
    agent = new_page("en")
    sign_in(agent, console_server, console_server.keys.agent)
    refused = agent.goto(console_server.page_url(f"/jobs/{JOB}/reset"))
    assert refused is not None and refused.status == 403
    csrf = agent.locator("input[name=csrf]").first.get_attribute("value")
    posted = agent.request.post(console_server.page_url(f"/jobs/{JOB}/reset"),
                                form={"csrf": csrf or "", "mode": "start"}, max_redirects=0)
    assert posted.status == 403
    assert job_cursors(hub, [JOB]) == hub_cursor and len(_resets(console_server)) == resets


def test_run__parts_on_a_timeline(console_server: ConsoleServer, new_page: Any) -> None:
    hub = console_server.hub
    run = list_runs(hub, job=JOB).items[-1]  # the seed's pull
    parts = run_parts(hub, run.id)
    assert parts, "the seed's pull was read in parts"
    page = new_page("zh-CN")
    sign_in(page, console_server, console_server.keys.integrator, path=f"/runs/{run.id}")
    svg = page.locator("#run-timeline svg.timeline")
    assert svg.get_attribute("role") == "img"
    root = ET.fromstring(svg.evaluate("el => el.outerHTML"))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("data-status")]
    assert [b.get("data-status") for b in bars] == [p.status for p in parts]
    assert root.find(f"{SVG}title").text == f"运行 #{run.id} 的分片时间线"  # type: ignore[union-attr]
    assert f"分片（{len(parts)}）" in page.locator("#parts h2").inner_text()
    shoot(page, "run-timeline")
    progress = page.request.get(console_server.page_url(f"/runs/{run.id}/progress.json"))
    answer = progress.json()
    assert answer["finished"] is True
    assert answer["timeline"].count("data-status=") == len(parts)


def test_run__its_timeline_redrawn_live_while_it_runs(console_server: ConsoleServer,
                                                      new_page: Any) -> None:
    """A run under way (its row and parts written as a worker writes them): the page draws
    its parts, redraws them from progress.json as a part ends, and reloads when it ends."""
    hub = console_server.hub
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        run = Run(job=JOB, kind="pull", trigger="test", status="running",
                  started_at=now - timedelta(seconds=30), slices=3)
        session.add(run)
        session.flush()
        for seq, (status, started, finished) in enumerate([
                ("done", 30, 20), ("pending", 15, None), ("pending", None, None)]):
            session.add(RunSlice(
                run_id=run.id, seq=seq, key=f"part-{seq}", params={}, status=status,
                attempts=1 if started else 0, due_at=now, read=10 * (seq + 1),
                started_at=now - timedelta(seconds=started) if started else None,
                finished_at=now - timedelta(seconds=finished) if finished else None))
        run_id = run.id
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.integrator, path=f"/runs/{run_id}")
    bars = page.locator("#run-timeline svg rect[data-status]")
    assert [b.get_attribute("data-status") for b in bars.all()] == [
        "done", "running", "pending"]
    assert page.locator("[data-count=read]").inner_text() == "60"  # the parts' sums
    shoot(page, "run-live-timeline")
    with hub.sessions.begin() as session:  # the second part ends
        part = session.scalars(select(RunSlice).where(RunSlice.run_id == run_id,
                                                      RunSlice.seq == 1)).one()
        part.status, part.finished_at, part.read = "done", datetime.now(UTC), 25
    page.locator("#run-timeline svg rect[data-status=done]").nth(1).wait_for()  # polled
    assert page.locator("[data-count=read]").inner_text() == "65"
    with hub.sessions.begin() as session:  # the run ends: the page reloads itself
        row = session.get(Run, run_id)
        assert row is not None
        row.status, row.finished_at, row.read = "succeeded", datetime.now(UTC), 65
    page.locator("#run-status[data-status=succeeded]").wait_for()
    assert page.locator("#run-timeline svg rect[data-status]").count() == 3
