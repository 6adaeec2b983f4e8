"""Ticket volume, SLA breaches and response times, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hub.reports import (
    ReportWindow,
    response_times,
    sla_breaches,
    ticket_figures,
    ticket_volume,
)
from hub.runtime import Hub

from .conftest import NOW, add, hours, ticket

MIDNIGHT_DEC_1 = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # Shanghai
WINDOW = ReportWindow(now=NOW, days=3)  # Dec 1, 2, 3 (Shanghai)


def test_ticket_volume__per_local_day_split_three_ways(report_hub: Hub) -> None:
    add(report_hub,
        ticket(created=MIDNIGHT_DEC_1 - hours(0.001)),  # Nov 30, 23:59:56: outside
        ticket(created=MIDNIGHT_DEC_1, channel="phone", status="resolved"),  # Dec 1
        ticket(created=MIDNIGHT_DEC_1 + hours(23.9), channel="phone", category=None),
        ticket(created=MIDNIGHT_DEC_1 + hours(24), channel="wecom", category="配件"),  # Dec 2
        ticket(created=NOW - hours(1), channel="phone"),  # Dec 3
        ticket(created=None))  # imported without a time: in no day
    volume = ticket_volume(report_hub, WINDOW)
    assert volume.days == [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)]
    assert volume.totals == [2, 1, 1]
    assert [(s.key, s.values) for s in volume.by_channel] == [
        ("phone", [2, 0, 1]), ("wecom", [0, 1, 0])]
    assert [(s.key, s.values) for s in volume.by_category] == [
        ("退款", [1, 0, 1]), ("(none)", [1, 0, 0]), ("配件", [0, 1, 0])]
    assert {s.key: s.values for s in volume.by_status} == {
        "open": [1, 1, 1], "resolved": [1, 0, 0]}


def test_ticket_volume__an_empty_store_has_every_day_at_zero(report_hub: Hub) -> None:
    volume = ticket_volume(report_hub, WINDOW)
    assert volume.totals == [0, 0, 0] and volume.by_channel == []


def test_sla_breaches__resolved_late_open_late_and_running(report_hub: Hub) -> None:
    day1 = MIDNIGHT_DEC_1 + hours(1)
    add(report_hub,
        # urgent: 4 h
        ticket(created=day1, priority="urgent", status="resolved", resolved=day1 + hours(3)),
        ticket(created=day1, priority="urgent", status="resolved", resolved=day1 + hours(5)),
        # low: 72 h; closed without a resolution: its clock stopped when it was closed
        ticket(created=day1, priority="low", status="closed", updated=day1 + hours(1)),
        # normal: 24 h; open for 51 h now: breached, and still open
        ticket(created=day1, priority="normal"),
        ticket(created=NOW - hours(1), priority="normal"),  # running
        ticket(created=NOW - hours(1), priority="high", status="resolved",
               resolved=NOW - hours(0.5)))
    sla = sla_breaches(report_hub, WINDOW)
    assert sla.breached == [2, 0, 0]
    assert sla.met == [2, 0, 1]
    assert sla.running == [0, 0, 1]
    assert sla.open_breached == 1
    assert sla.targets_hours["urgent"] == 4


def test_sla_breaches__targets_can_be_given(report_hub: Hub) -> None:
    add(report_hub, ticket(created=NOW - hours(2)))
    assert sla_breaches(report_hub, WINDOW, {"normal": 1}).breached == [0, 0, 1]
    assert sla_breaches(report_hub, WINDOW).breached == [0, 0, 0]


def test_response_times__nearest_rank_median_and_p90_per_day(report_hub: Hub) -> None:
    opened = MIDNIGHT_DEC_1 - hours(20)  # Nov 30: before the window, resolved in it
    add(report_hub, *(ticket(created=opened, status="resolved", resolved=opened + hours(h),
                             enriched=opened + hours(h / 3600))
                      for h in (21, 22, 45)),  # resolved on Dec 1 (x2) and Dec 2
        ticket(created=MIDNIGHT_DEC_1 + hours(30), status="resolved",
               resolved=MIDNIGHT_DEC_1 + hours(33), enriched=MIDNIGHT_DEC_1 + hours(30.001)),
        ticket(created=MIDNIGHT_DEC_1 + hours(30), status="resolved",
               resolved=MIDNIGHT_DEC_1 + hours(40)),
        ticket(created=MIDNIGHT_DEC_1 + hours(31), status="resolved",
               resolved=MIDNIGHT_DEC_1 + hours(47.5)))
    times = response_times(report_hub, WINDOW)
    resolution = {(d.day, d.count): (d.median_s, d.p90_s) for d in times.time_to_resolution}
    assert resolution == {
        (date(2026, 12, 1), 2): (21 * 3600, 22 * 3600),
        # 3 h, 10 h, 16.5 h, 45 h: median rank 2 (10 h), p90 rank 4 (45 h)
        (date(2026, 12, 2), 4): (10 * 3600, 45 * 3600)}
    # only tickets opened in the window count: one enriched 3.6 s after it came in
    assert [(d.day, d.count, d.median_s) for d in times.time_to_enrichment] == [
        (date(2026, 12, 2), 1, 3.6)]
    assert times.time_to_first_response == []  # nobody answered these: none counted


def test_response_times__first_response_by_the_day_opened_unanswered_left_out(
    report_hub: Hub
) -> None:
    opened = MIDNIGHT_DEC_1 + hours(2)
    add(report_hub, *(ticket(created=opened, answered=opened + hours(h)) for h in (0.25, 1, 6)),
        ticket(created=opened),  # not answered yet
        ticket(created=MIDNIGHT_DEC_1 + hours(26), answered=MIDNIGHT_DEC_1 + hours(27)))
    times = response_times(report_hub, WINDOW)
    assert [(d.day, d.count, d.median_s, d.p90_s) for d in times.time_to_first_response] == [
        (date(2026, 12, 1), 3, 3600.0, 6 * 3600.0), (date(2026, 12, 2), 1, 3600.0, 3600.0)]


def test_response_times__days_before_today_are_reread_after_their_age(report_hub: Hub) -> None:
    yesterday, today = NOW - hours(24), NOW - hours(1)
    add(report_hub, ticket(created=yesterday - hours(2), status="resolved", resolved=yesterday))
    first = response_times(report_hub, WINDOW)
    assert [d.count for d in first.time_to_resolution] == [1]
    add(report_hub, ticket(created=yesterday - hours(4), status="resolved", resolved=yesterday),
        ticket(created=today - hours(1), status="resolved", resolved=today))
    again = response_times(report_hub, WINDOW)  # today's read now, yesterday's reused
    assert [(d.day, d.count) for d in again.time_to_resolution] == [
        (date(2026, 12, 2), 1), (date(2026, 12, 3), 1)]
    fresh = response_times(report_hub, WINDOW, past_max_age_s=0)
    assert [(d.day, d.count, d.p90_s) for d in fresh.time_to_resolution] == [
        (date(2026, 12, 2), 2, 4 * 3600), (date(2026, 12, 3), 1, 3600)]


def test_ticket_figures__one_read_gives_both(report_hub: Hub) -> None:
    add(report_hub, ticket(created=NOW - hours(30), priority="urgent", channel="phone"),
        ticket(created=NOW - hours(1), category=None))
    volume, sla = ticket_figures(report_hub, WINDOW, {"normal": 0.5})
    assert volume == ticket_volume(report_hub, WINDOW)
    assert sla == sla_breaches(report_hub, WINDOW, {"normal": 0.5})
    assert (sla.breached, sla.open_breached) == ([0, 1, 1], 2)
