"""The dashboard: every figure of the report engine for one window, as one typed answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.core.time import UtcDatetime
from hub.runtime import Hub

from .enrichment import EnrichmentCoverage, enrichment_coverage
from .freshness import JobFreshness, sync_freshness
from .health import ConnectionHealth, connection_health
from .recent import RecentAnswers
from .tickets import (
    ResponseTimes,
    SlaBreaches,
    TicketVolume,
    response_times,
    ticket_figures,
)
from .window import DEFAULT_TIMEZONE, ReportWindow
from .writeback import WritebackHealth, writeback_health

__all__ = ["Dashboard", "dashboard", "recent_dashboard"]


def _example(model: type[BaseModel]) -> Any:
    return model.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]


class Dashboard(BaseModel):
    """Volumes, SLA, response times, enrichment coverage, sync freshness, write-back and
    connection health, as of `generated_at`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "generated_at": "2026-12-03T04:00:00Z", "days": 3, "timezone": "Asia/Shanghai",
        "health_hours": 24.0, "tickets": _example(TicketVolume), "sla": _example(SlaBreaches),
        "response_times": _example(ResponseTimes), "enrichment": _example(EnrichmentCoverage),
        "sync": [_example(JobFreshness)], "writeback": _example(WritebackHealth),
        "connections": [_example(ConnectionHealth)]}]})

    generated_at: UtcDatetime
    days: int
    timezone: str = Field(description="Days are cut at local midnight in this zone.")
    health_hours: float = Field(description="Each health window's length.")
    tickets: TicketVolume
    sla: SlaBreaches
    response_times: ResponseTimes
    enrichment: EnrichmentCoverage
    sync: list[JobFreshness]
    writeback: WritebackHealth
    connections: list[ConnectionHealth]


_RECENT: RecentAnswers[Dashboard] = RecentAnswers()


def dashboard(hub: Hub, window: ReportWindow, *, health_hours: float = 24.0) -> Dashboard:
    """Every figure, computed now."""
    tickets, sla = ticket_figures(hub, window)
    return Dashboard(
        generated_at=window.now, days=window.days, timezone=window.timezone,
        health_hours=health_hours, tickets=tickets, sla=sla,
        response_times=response_times(hub, window),
        enrichment=enrichment_coverage(hub, window), sync=sync_freshness(hub, window),
        writeback=writeback_health(hub, window),
        connections=connection_health(hub, window, hours=health_hours))


def recent_dashboard(hub: Hub, *, days: int = 30, timezone: str = DEFAULT_TIMEZONE,
                     health_hours: float = 24.0, max_age_s: float = 30.0) -> Dashboard:
    """The dashboard ending now, or this process's answer for the same store and window if
    it is at most `max_age_s` old (recent.py): what the API and the console serve."""
    key = (hub.settings.database_url, days, timezone, health_hours)
    return _RECENT.get(key, lambda: dashboard(
        hub, ReportWindow.ending_now(days=days, timezone=timezone), health_hours=health_hours),
        max_age_s=max_age_s)
