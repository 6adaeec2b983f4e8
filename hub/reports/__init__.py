"""The report engine: the dashboard's figures, each one query set on the store (SQLite and
PostgreSQL), each a typed result the API, the console and the CLI show as they like."""

from .dashboard import Dashboard, dashboard, recent_dashboard
from .enrichment import EnrichmentCoverage, enrichment_coverage
from .freshness import JobFreshness, sync_freshness
from .health import (
    ConnectionHealth,
    HealthStatus,
    HealthWindow,
    connection_health,
    health_history,
    health_score,
    judged,
    recent_health_history,
)
from .tickets import (
    DEFAULT_SLA_HOURS,
    DurationDay,
    ResponseTimes,
    Series,
    SlaBreaches,
    TicketVolume,
    response_times,
    sla_breaches,
    ticket_figures,
    ticket_volume,
)
from .window import DEFAULT_TIMEZONE, ReportWindow
from .writeback import WritebackFlow, WritebackHealth, writeback_health

__all__ = [
    "DEFAULT_SLA_HOURS",
    "DEFAULT_TIMEZONE",
    "ConnectionHealth",
    "Dashboard",
    "DurationDay",
    "EnrichmentCoverage",
    "HealthStatus",
    "HealthWindow",
    "JobFreshness",
    "ReportWindow",
    "ResponseTimes",
    "Series",
    "SlaBreaches",
    "TicketVolume",
    "WritebackFlow",
    "WritebackHealth",
    "connection_health",
    "dashboard",
    "enrichment_coverage",
    "health_history",
    "health_score",
    "judged",
    "recent_dashboard",
    "recent_health_history",
    "response_times",
    "sla_breaches",
    "sync_freshness",
    "ticket_figures",
    "ticket_volume",
    "writeback_health",
]
