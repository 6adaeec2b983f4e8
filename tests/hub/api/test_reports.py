"""GET /reports/dashboard: the dashboard's figures for integrators and admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.runtime import Hub
from hub.store.models import Ticket


def _ticket(hub: Hub) -> None:
    now = datetime.now(UTC)
    with hub.sessions() as session, session.begin():
        session.add(Ticket(subject="空调不制冷", description="", channel="wecom", status="open",
                           contact_name="张三", contact_mobile="13812345678",
                           enrichment_status="enriched", category="故障报修",
                           created_at=now - timedelta(minutes=5), updated_at=now))


@pytest.mark.parametrize("role", ["integrator", "admin"])
def test_dashboard__figures_for_ops_without_personal_data(api_client: Any, hub: Hub,
                                                          role: str) -> None:
    _ticket(hub)
    with api_client(hub, role=role, scopes=()) as api:
        response = api.get("/reports/dashboard", params={"days": 7, "timezone": "UTC",
                                                          "health_hours": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["days"], body["timezone"], body["health_hours"]) == (7, "UTC", 2)
    assert len(body["tickets"]["days"]) == 7 and body["tickets"]["totals"][-1] == 1
    assert body["tickets"]["by_channel"] == [{"key": "wecom", "values": [0] * 6 + [1]}]
    assert body["enrichment"]["by_status"] == {"enriched": 1}
    assert {c["connection"] for c in body["connections"]} >= {"crm", "kingdee"}
    assert "13812345678" not in response.text and "张三" not in response.text


def test_dashboard__agents_may_not_read_it(api_client: Any, hub: Hub) -> None:
    with api_client(hub, role="agent") as api:
        response = api.get("/reports/dashboard")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("params", "field"), [
    ({"timezone": "Mars/Olympus"}, "query.timezone"),
    ({"days": 0}, "query.days"),
    ({"days": 91}, "query.days"),
    ({"health_hours": 0}, "query.health_hours"),
])
def test_dashboard__bad_parameters_are_422_naming_them(api_client: Any, hub: Hub,
                                                       params: dict[str, Any],
                                                       field: str) -> None:
    with api_client(hub, role="integrator") as api:
        response = api.get("/reports/dashboard", params=params)
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]
