"""The console's operations pages in a real Chromium against a real `hub serve` (one per
module, conftest.py): the dashboard (the landing page of the roles that may see it), the
connections with check-now and their health history, and the audit log with its chain's
status; roles refused, CSRF refused, check-now audited as the person."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hub.audit import AuditEntry
from hub.audit.query import query_audit
from hub.reports import recent_dashboard

from .conftest import ConsoleServer, shoot, sign_in

pytestmark = pytest.mark.slow


def _sign_in_home(page: Any, server: ConsoleServer, key: str) -> None:
    """Sign in from the console's root: each role lands on its own page."""
    page.goto(server.page_url("/"))
    assert "/console/signin" in page.url
    page.fill("#api_key", key)
    page.click("form[action$='/signin'] button[type=submit]")
    page.wait_for_load_state()


def test_dashboard__the_integrators_landing_page_with_the_reports_figures(
        console_server: ConsoleServer, new_page: Any) -> None:
    # yonyou's token refused once, its calls otherwise fine: a warning before any failure
    console_server.hub.audit.record([AuditEntry(
        "job:yonyou_customers", "http.call", f"yonyou:{operation}", outcome=outcome,
        detail={"duration_ms": 40.0}) for operation, outcome in (
            ("token", "auth"), *(("customers.list", "ok") for _ in range(9)))])
    page = new_page("zh-CN")
    _sign_in_home(page, console_server, console_server.keys.integrator)
    page.wait_for_url(re.compile(r"/console/dashboard$"))
    shoot(page, "dashboard")
    board = recent_dashboard(console_server.hub)  # the figures the API answers
    assert page.locator("h1").inner_text() == "仪表盘"
    assert page.locator("#tickets-total").inner_text() == str(sum(board.tickets.totals)) == "3"
    assert page.locator("#dead-letters").inner_text() == str(board.writeback.dead_letters)
    assert "数据生成于" in page.locator("#generated-at").inner_text()
    # stacked bars per day: one bar segment per channel that opened a ticket today
    channel_bars = page.locator("#chart-channel svg rect[data-series]")
    assert sorted(channel_bars.evaluate_all("els => els.map(e => e.dataset.value)")) == [
        "1", "1", "1"]
    assert page.locator("#chart-channel svg").get_attribute("role") == "img"
    assert page.locator("#chart-sla svg").count() == 1
    assert page.locator("#chart-resolution svg").count() == 2  # median and p90
    # health: the CRM answered the seed's pull; Kingdee refused a refund (a data problem)
    crm = page.locator("#health-crm")
    assert crm.get_attribute("data-status") == "ok"
    assert crm.locator("svg.gauge .gauge-value").get_attribute("data-value") == "100"
    assert crm.locator("svg.sparkline polyline").count() == 1
    assert page.locator("#sync-crm_customers").count() == 1
    yonyou = page.locator("#health-yonyou")
    assert yonyou.get_attribute("data-status") == "warning"
    assert yonyou.locator("svg.gauge .gauge-value").get_attribute("data-value") == "95"
    assert "凭证被拒 1 次" in yonyou.locator("ul.reasons").inner_text()  # the reason, in Chinese
    # what needs a look comes first
    assert page.locator(".health-card").first.get_attribute("id") == "health-yonyou"
    # the window and the zone
    page.select_option("select[name=days]", "7")
    page.select_option("select[name=tz]", "UTC")
    page.click("#dashboard-window button[type=submit]")
    page.wait_for_url(re.compile(r"days=7&tz=UTC"))
    assert page.locator("#chart-channel svg text.x-label").count() >= 1
    assert page.locator("#chart-channel svg").evaluate(
        "svg => svg.querySelector('desc').textContent").startswith("7 days")
    shoot(page, "dashboard-7-days-utc")


def test_dashboard__agents_land_on_tickets_and_are_refused_it(
        console_server: ConsoleServer, new_page: Any) -> None:
    page = new_page("en")
    _sign_in_home(page, console_server, console_server.keys.agent)
    page.wait_for_url(re.compile(r"/console/tickets$"))
    assert "Dashboard" not in page.locator("header nav").inner_text()
    answer = page.goto(console_server.page_url("/dashboard"))
    assert answer is not None and answer.status == 403
    assert "may not runs:read" in page.locator(".notice.error").inner_text()
    refusals = query_audit(console_server.hub.sessions, action="console.denied", limit=50)
    assert any(row.target == "GET /console/dashboard" for row in refusals.items)
    bad = page.goto(console_server.page_url("/dashboard?tz=Mars/Base"))
    assert bad is not None and bad.status == 403  # the role is checked first


def _checks(server: ConsoleServer) -> list[Any]:
    return query_audit(server.hub.sessions, action="connection.check", limit=100).items


def test_connections__check_now_is_audited_as_the_person_and_shows_the_health_history(
        console_server: ConsoleServer, new_page: Any) -> None:
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.integrator, path="/connections")
    crm = page.locator("#connection-crm")
    assert "Never checked." in crm.inner_text()
    history = crm.locator("table.history tbody tr")
    assert history.count() == 7  # the health windows, newest first
    assert history.first.locator("td.score").inner_text() == "100.0"  # the seed's pull
    assert crm.locator(".health-card svg.sparkline").count() == 1
    before = len(_checks(console_server))
    crm.locator("button[data-check=crm]").click()
    page.wait_for_url(re.compile(r"checked=crm"))
    shoot(page, "connections")
    assert "crm: check passed" in page.locator("#check-result").inner_text()
    [check, *older] = _checks(console_server)
    assert len(older) == before
    prefix = console_server.keys.integrator.split("_")[1]  # hub_<prefix>_<secret>
    assert (check.actor, check.target, check.outcome) == (
        f"console:apikey:{prefix}", "connection:crm", "ok")
    assert check.actor in page.locator("#connection-crm .last-check").inner_text()
    assert console_server.keys.integrator not in page.content()


def test_connections__csrf_and_roles_refused(console_server: ConsoleServer,
                                            new_page: Any) -> None:
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.integrator, path="/connections")
    before = len(_checks(console_server))
    page.locator("#connection-kingdee input[name=csrf]").evaluate("el => el.remove()")
    with page.expect_response(re.compile(r"/check$")) as answer:
        page.locator("button[data-check=kingdee]").click()
    assert answer.value.status == 403
    assert "CSRF" in page.locator(".notice.error").inner_text()
    shoot(page, "connections-csrf-refused")
    assert len(_checks(console_server)) == before  # nothing probed
    agent = new_page("en")
    sign_in(agent, console_server, console_server.keys.agent)
    refused = agent.goto(console_server.page_url("/connections"))
    assert refused is not None and refused.status == 403
    csrf = agent.locator("input[name=csrf]").first.get_attribute("value")
    posted = agent.request.post(console_server.page_url("/connections/crm/check"),
                                form={"csrf": csrf or ""}, max_redirects=0)
    assert posted.status == 403 and len(_checks(console_server)) == before


def _chain_verified(page: Any, server: ConsoleServer) -> str:
    """The chain's status once the page's background verification has ended (a page waits
    a second for it, then says it is under way: opened again until it is not)."""
    for _ in range(120):
        if page.locator("#chain").get_attribute("data-running") == "false":
            return str(page.locator("#chain").get_attribute("data-ok"))
        page.wait_for_timeout(500)
        page.goto(server.page_url("/audit"))  # without verify=now: no new verification
    raise AssertionError("the chain's verification did not end")


def test_audit__filters_pages_and_the_chains_status_for_admins_only(
        console_server: ConsoleServer, new_page: Any) -> None:
    integrator = new_page("en")
    sign_in(integrator, console_server, console_server.keys.integrator)
    refused = integrator.goto(console_server.page_url("/audit"))
    assert refused is not None and refused.status == 403
    assert "Audit" not in integrator.locator("header nav").inner_text()

    page = new_page("zh-CN")
    sign_in(page, console_server, console_server.keys.admin, path="/audit")
    assert _chain_verified(page, console_server) == "true"
    shoot(page, "audit")
    assert "行已校验" in page.locator("#chain-summary").inner_text()
    # the API's filters: a prefix, newest first
    page.fill("input[name=actor]", "console:*")
    page.fill("input[name=action]", "console.signin")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_url(re.compile(r"action=console.signin"))
    rows = page.locator("#audit-rows tbody tr")
    expected = query_audit(console_server.hub.sessions, actor="console:*",
                           action="console.signin", limit=50).items
    assert rows.count() == len(expected) >= 3  # every sign-in of this module so far
    assert set(rows.locator("td.action").all_inner_texts()) == {"console.signin"}
    seqs = [int(s) for s in rows.evaluate_all("trs => trs.map(tr => tr.dataset.seq)")]
    assert seqs == [row.seq for row in expected]
    # paging: two a page, the next page older
    page.goto(console_server.page_url("/audit?action=console.signin&limit=2"))
    first = page.locator("#audit-rows tbody tr").evaluate_all(
        "trs => trs.map(tr => Number(tr.dataset.seq))")
    page.click("nav.pager a[rel=next]")
    page.wait_for_url(re.compile(r"cursor="))
    second = page.locator("#audit-rows tbody tr").evaluate_all(
        "trs => trs.map(tr => Number(tr.dataset.seq))")
    assert first == seqs[:2] and second == seqs[2:4]
    page.goto(console_server.page_url("/audit?since=2999-01-01T00:00"))
    assert page.locator("#audit-rows").count() == 0 and page.locator(".empty").count() == 1
    bad = page.goto(console_server.page_url("/audit?since=yesterday"))
    assert bad is not None and bad.status == 422  # as the API answers a bad filter


def test_audit__a_row_altered_in_the_store_shows_the_chain_broken(
        console_server: ConsoleServer, new_page: Any) -> None:
    """Last in the module: it breaks the chain of the module's store."""
    from sqlalchemy import update

    from hub.store.models import AuditRecord

    [signin] = query_audit(console_server.hub.sessions, action="console.signin", limit=1).items
    with console_server.hub.sessions() as session, session.begin():
        session.execute(update(AuditRecord).where(AuditRecord.seq == signin.seq)
                        .values(outcome="forged"))
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.admin, path="/audit")
    page.click("#verify-now")
    page.wait_for_url(re.compile(r"verify=now"))
    assert _chain_verified(page, console_server) == "false"
    shoot(page, "audit-chain-broken")
    assert f"#{signin.seq}" in page.locator("#chain-problem").inner_text()
