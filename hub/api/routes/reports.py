"""/reports/dashboard: the dashboard's figures for integrators (ops) and admins, as the
console draws them (hub.reports)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Query
from pydantic import AfterValidator

from hub.api.admission import admitted_router
from hub.api.deps import HubDep
from hub.reports import DEFAULT_TIMEZONE, Dashboard, recent_dashboard

# The runs' area, as /metrics: who watches the hub's operation (integrators, admins).
router = admitted_router("runs", tags=["reports"])


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{name}' is not an IANA time zone (e.g. Asia/Shanghai, UTC)"
                         ) from None
    return name


Zone = Annotated[str, AfterValidator(_zone), Query(
    min_length=1, max_length=64, description="Days are cut at local midnight here.",
    examples=[DEFAULT_TIMEZONE])]


@router.get("/reports/dashboard")
def get_dashboard(
        hub: HubDep,
        days: Annotated[int, Query(ge=1, le=90, description="Whole days, today included.")] = 30,
        timezone: Zone = DEFAULT_TIMEZONE,
        health_hours: Annotated[float, Query(gt=0, le=168, description=(
            "Length of each connection-health window: the last `health_hours` against the "
            "same length before it."))] = 24.0,
) -> Dashboard:
    """Tickets per day by channel, category and status; SLA breaches; time to resolution and
    to enrichment; enrichment coverage; sync freshness per pull job; write-back backlog and
    dead letters; a health score per connection. Aggregates only: no personal data.
    Computed at most every 30 seconds per server process: `generated_at` says when."""
    return recent_dashboard(hub, days=days, timezone=timezone, health_hours=health_hours)
