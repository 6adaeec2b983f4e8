from __future__ import annotations

from hub.reports import ReportWindow, writeback_health
from hub.runtime import Hub

from .conftest import NOW, add, hours, outbox_row


def test_writeback_health__backlog_dead_letters_and_success_rate(report_hub: Hub) -> None:
    long_ago = NOW - hours(24 * 60)
    add(report_hub,
        outbox_row(1, status="done", created=NOW - hours(5), updated=NOW - hours(4)),
        outbox_row(2, status="done", created=NOW - hours(5), updated=NOW - hours(4)),
        outbox_row(3, status="done", created=long_ago, updated=long_ago),  # before the window
        outbox_row(4, status="dead", created=NOW - hours(3), updated=NOW - hours(2)),
        outbox_row(5, status="pending", created=NOW - hours(6), updated=NOW - hours(1),
                   due=NOW - hours(0.5)),  # overdue
        outbox_row(6, status="pending", created=NOW - hours(1), updated=NOW - hours(1),
                   due=NOW + hours(1), connection="yonyou", action="parts.consume"))
    health = writeback_health(report_hub, ReportWindow(now=NOW, days=30))
    assert health.by_status == {"pending": 2, "done": 3, "dead": 1}
    assert (health.backlog, health.overdue, health.dead_letters) == (2, 1, 1)
    assert health.oldest_pending_age_s == 6 * 3600
    assert health.success_rate == round(2 / 3, 4)
    flows = {(f.connection, f.action): f for f in health.flows}
    kingdee = flows["kingdee", "refund.create"]
    assert (kingdee.pending, kingdee.done, kingdee.dead) == (1, 3, 1)
    assert (kingdee.done_in_window, kingdee.dead_in_window) == (2, 1)
    assert flows["yonyou", "parts.consume"].pending == 1


def test_writeback_health__an_empty_outbox(report_hub: Hub) -> None:
    health = writeback_health(report_hub, ReportWindow(now=NOW, days=30))
    assert (health.backlog, health.oldest_pending_at, health.success_rate, health.flows) == (
        0, None, None, [])
