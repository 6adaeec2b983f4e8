"""Connection health from the `http.call` audit rows; the score's formula."""

from __future__ import annotations

import pytest

from hub.reports import (
    ReportWindow,
    connection_health,
    health_history,
    health_score,
    judged,
)
from hub.runtime import Hub
from hub.store.models import Run

from .conftest import NOW, add, call, hours

RECENT, PREVIOUS = NOW - hours(1), NOW - hours(25)  # with 24-hour windows


@pytest.mark.parametrize(("calls", "failures", "throttled", "tokens", "p95", "score"), [
    (100, 0, 0, 0, 150.0, 100.0),
    (100, 25, 0, 0, None, 40.0),  # a quarter failing costs 60
    (100, 50, 0, 0, None, 40.0),  # capped
    (100, 0, 5, 0, None, 92.5),  # 5 % throttled: half of 15
    (100, 0, 0, 1, None, 95.0),  # one refused token: 5
    (100, 0, 0, 0, 8000.0, 90.0),  # p95 of 8 s: 10
    (100, 0, 0, 0, 5000.0, 95.0),
    (0, 0, 0, 0, None, None),
])
def test_health_score__the_documented_formula(calls: int, failures: int, throttled: int,
                                              tokens: int, p95: float | None,
                                              score: float | None) -> None:
    assert health_score(calls=calls, failures=failures, throttled=throttled,
                        token_failures=tokens, p95_ms=p95) == score


def test_connection_health__counts_p95_and_status(report_hub: Hub) -> None:
    add(report_hub,
        *(call(RECENT, "crm:customers.list", duration_ms=float(ms)) for ms in range(1, 21)),
        call(RECENT, "crm:customers.get", "not_found", 5.0),
        call(RECENT, "kingdee:refund.create.save", "rejected"),
        *(call(RECENT, "kingdee:refund.create.save", "transient") for _ in range(3)),
        call(NOW - hours(50), "crm:customers.list", "transient"),  # before both windows
        call(NOW + hours(1), "crm:customers.list", "transient"))  # after now
    found = {h.connection: h for h in connection_health(report_hub, ReportWindow(now=NOW))}
    assert set(found) >= {"crm", "kb", "kingdee", "yonyou", "dingtalk", "wecom"}
    crm = found["crm"]
    assert (crm.recent.calls, crm.recent.answered, crm.recent.failures) == (21, 21, 0)
    assert crm.recent.p95_ms == 19.0  # nearest rank 20 of 21 (1, 2, 3, 4, 5, 5, 6, … 20)
    assert (crm.status, crm.score, crm.trend, crm.previous.calls) == ("ok", 100.0, None, 0)
    kingdee = found["kingdee"]
    assert (kingdee.recent.calls, kingdee.recent.answered, kingdee.recent.failures) == (4, 1, 3)
    assert (kingdee.status, kingdee.score) == ("failing", 40.0)
    assert found["kb"].status == "idle" and found["kb"].score is None


def test_connection_health__warns_on_a_slide_before_it_fails(report_hub: Hub) -> None:
    """yonyou's score is still above 80, but throttles and latency have grown since the day
    before and a token was refused: a warning, with the reasons."""
    add(report_hub,
        *(call(PREVIOUS, "yonyou:customers.list", duration_ms=200.0) for _ in range(40)),
        *(call(RECENT, "yonyou:customers.list", duration_ms=900.0) for _ in range(37)),
        *(call(RECENT, "yonyou:customers.list", "rate_limited", 900.0) for _ in range(2)),
        call(RECENT, "yonyou:token", "auth", 30.0))
    yonyou = {h.connection: h for h in connection_health(report_hub, ReportWindow(now=NOW))}[
        "yonyou"]
    assert yonyou.previous.score == 100.0
    assert yonyou.recent.score == pytest.approx(100 - 15 * 0.5 - 5)
    assert yonyou.status == "warning"
    assert yonyou.trend == pytest.approx(-12.5)
    assert any("fell" in r for r in yonyou.reasons)
    assert any("p95 latency 200 → 900 ms" in r for r in yonyou.reasons)
    assert any("token" in r for r in yonyou.reasons)


def test_connection_health__window_length_is_a_parameter(report_hub: Hub) -> None:
    add(report_hub, call(NOW - hours(3), "crm:customers.list", "transient"))
    window = ReportWindow(now=NOW)
    by_hours = {h: {c.connection: c for c in connection_health(report_hub, window, hours=h)}
                for h in (1, 2, 4)}
    assert by_hours[1]["crm"].status == "idle"  # neither window reaches 3 h back
    assert by_hours[2]["crm"].previous.failures == 1 and by_hours[2]["crm"].status == "idle"
    assert by_hours[4]["crm"].status == "failing"


def test_connection_health__failed_runs_of_its_jobs_warn(report_hub: Hub) -> None:
    """kingdee's calls are fine, but a run of erp_refunds failed; yonyou made no call at
    all and its pull failed: both warn. The crm runs that succeeded are counted."""
    def run(job: str, status: str, hours_ago: float) -> Run:
        return Run(job=job, kind="pull", trigger="schedule", status=status,
                   started_at=NOW - hours(hours_ago))

    add(report_hub, call(RECENT, "kingdee:refund.create.save"),
        run("erp_refunds", "failed", 2), run("erp_refunds", "succeeded", 3),
        run("erp_parts", "succeeded", 30),  # the window before
        run("yonyou_customers", "interrupted", 1),
        run("crm_customers", "succeeded", 1),
        run("ticket_enrichment", "succeeded", 1))  # crm (hub.yaml gives it no sources)
    found = {h.connection: h for h in connection_health(report_hub, ReportWindow(now=NOW))}
    kingdee, yonyou, crm = found["kingdee"], found["yonyou"], found["crm"]
    assert (kingdee.recent.runs, kingdee.recent.failed_runs, kingdee.previous.runs) == (2, 1, 1)
    assert (kingdee.status, kingdee.score) == ("warning", 100.0)
    assert "1 of 2 runs of its jobs failed" in kingdee.reasons
    assert (yonyou.status, yonyou.score, yonyou.recent.failed_runs) == ("warning", None, 1)
    assert (crm.status, crm.recent.runs, crm.recent.failed_runs) == ("idle", 2, 0)


def test_health_history__windows_oldest_first_with_the_last_two_the_figures(
        report_hub: Hub) -> None:
    """Seven windows of 4 hours: calls land in the window they fall in; the last two are the
    windows connection_health compares."""
    add(report_hub,
        call(NOW - hours(27), "crm:customers.list", "transient"),  # window 0: [-28 h, -24 h)
        call(NOW - hours(26), "crm:customers.list"),
        call(NOW - hours(1), "crm:customers.list"),  # window 6: [-4 h, now)
        call(NOW - hours(29), "crm:customers.list", "transient"))  # before the first window
    window = ReportWindow(now=NOW)
    history = health_history(report_hub, window, hours=4, windows=7)
    assert set(history) >= {"crm", "kingdee"}
    crm = history["crm"]
    assert [w.start for w in crm] == [NOW - hours(28 - 4 * i) for i in range(7)]
    assert [w.calls for w in crm] == [2, 0, 0, 0, 0, 0, 1]
    assert (crm[0].failures, crm[0].score, crm[6].score) == (1, 40.0, 100.0)
    assert all(w.score is None for w in history["kingdee"])
    health = connection_health(report_hub, window, hours=4)
    now = {h.connection: h for h in health}["crm"]
    assert (now.previous, now.recent) == (crm[5], crm[6])
    assert judged(history) == health  # judged from the history's last two windows
