from __future__ import annotations

import json
from datetime import UTC, datetime

from hub.reports import ReportWindow, dashboard, recent_dashboard
from hub.runtime import Hub

from .conftest import NOW, add, call, hours, ticket


def test_dashboard__every_figure_in_one_answer(report_hub: Hub) -> None:
    add(report_hub, ticket(created=NOW - hours(1), channel="wecom"),
        call(NOW - hours(1), "crm:customers.list"))
    answer = dashboard(report_hub, ReportWindow(now=NOW, days=7), health_hours=6)
    assert answer.tickets.totals[-1] == 1 and len(answer.tickets.days) == 7
    assert answer.sla.running[-1] == 1
    assert {c.connection: c.status for c in answer.connections}["crm"] == "ok"
    assert answer.health_hours == 6 and answer.timezone == "Asia/Shanghai"
    document = json.loads(answer.model_dump_json())
    assert document["generated_at"] == "2026-12-03T04:00:00Z"
    assert set(document) >= {"tickets", "sla", "response_times", "enrichment", "sync",
                             "writeback", "connections"}


def test_recent_dashboard__reused_for_its_age_then_fresh(report_hub: Hub) -> None:
    first = recent_dashboard(report_hub, days=2, timezone="UTC", max_age_s=300)
    add(report_hub, ticket(created=datetime.now(UTC)))
    again = recent_dashboard(report_hub, days=2, timezone="UTC", max_age_s=300)
    assert again is first and sum(again.tickets.totals) == 0
    fresh = recent_dashboard(report_hub, days=2, timezone="UTC", max_age_s=0)
    assert sum(fresh.tickets.totals) == 1 and fresh.generated_at >= first.generated_at
