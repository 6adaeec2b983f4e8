"""The dashboard: every figure of the report engine for one window, as one typed answer."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hub.core.time import UtcDatetime
from hub.runtime import Hub

from .enrichment import EnrichmentCoverage, enrichment_coverage
from .freshness import JobFreshness, sync_freshness
from .health import ConnectionHealth, connection_health
from .tickets import (
    ResponseTimes,
    SlaBreaches,
    TicketVolume,
    response_times,
    sla_breaches,
    ticket_volume,
)
from .window import ReportWindow
from .writeback import WritebackHealth, writeback_health

__all__ = ["Dashboard", "dashboard"]


class Dashboard(BaseModel):
    """Volumes, SLA, response times, enrichment coverage, sync freshness, write-back and
    connection health, as of `generated_at`."""

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


def dashboard(hub: Hub, window: ReportWindow, *, health_hours: float = 24.0) -> Dashboard:
    return Dashboard(
        generated_at=window.now, days=window.days, timezone=window.timezone,
        health_hours=health_hours, tickets=ticket_volume(hub, window),
        sla=sla_breaches(hub, window), response_times=response_times(hub, window),
        enrichment=enrichment_coverage(hub, window), sync=sync_freshness(hub, window),
        writeback=writeback_health(hub, window),
        connections=connection_health(hub, window, hours=health_hours))
