"""The dashboard: the report engine's figures (hub.reports, as GET /reports/dashboard answers
them, through the same 30-second reuse) drawn as SVG charts, for a chosen day window and zone.
The console's landing page for the roles that may see it (runs:read, as the API's route)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.errors import InvalidRequestError
from hub.reports import (
    DEFAULT_TIMEZONE,
    ConnectionHealth,
    Dashboard,
    HealthWindow,
    Series,
    recent_dashboard,
    recent_health_history,
)

from ..auth import User
from ..charts import PALETTE, StackSeries, gauge, line_chart, sparkline, stacked_bars
from ..messages import Translator, language_of
from ..web import admitted, blocking, console_of, render

__all__ = ["health_cards", "reason_text", "routes"]

DAY_CHOICES = (7, 14, 30, 90)
ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Singapore", "Asia/Tokyo", "UTC",
         "Europe/London", "America/New_York")
HEALTH_WINDOWS = 7  # the sparkline's points: this many health windows, oldest first
# Connections needing a look first: failing, then warning (the score warns before things fail).
_SEVERITY = {"failing": 0, "warning": 1, "ok": 2, "idle": 3}


def _days(request: Request) -> int:
    text = request.query_params.get("days", "").strip() or "30"
    if not text.isdigit() or not 1 <= int(text) <= 90:
        raise InvalidRequestError("days: a whole number from 1 to 90")
    return int(text)


def _zone(request: Request) -> str:
    name = request.query_params.get("tz", "").strip()[:64] or DEFAULT_TIMEZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequestError(f"tz: '{name}' is not an IANA time zone (e.g. "
                                  "Asia/Shanghai, UTC)") from None
    return name


def _label(t: Translator, prefix: str, key: str) -> str:
    return t(f"{prefix}.{key}") if t.has(f"{prefix}.{key}") else key


def _day(day: date) -> str:
    return day.strftime("%m-%d")


def _stack(t: Translator, prefix: str, series: list[Series]) -> list[StackSeries]:
    return [StackSeries(_label(t, prefix, s.key), s.values) for s in series]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _charts(t: Translator, board: Dashboard) -> dict[str, Markup]:
    days = [_day(day) for day in board.tickets.days]
    volume = {
        f"tickets_by_{split}": stacked_bars(
            days, _stack(t, prefix, getattr(board.tickets, f"by_{split}")),
            title=t(f"dashboard.tickets_by_{split}"), chart_id=f"tickets-by-{split}")
        for split, prefix in (("channel", "channel"), ("category", "category"),
                              ("status", "status"))}
    sla = board.sla
    breaches = stacked_bars(
        [_day(day) for day in sla.days],
        [StackSeries(t("sla.breached"), sla.breached), StackSeries(t("sla.running"), sla.running),
         StackSeries(t("sla.met"), sla.met)],
        title=t("dashboard.sla"), chart_id="sla", colours=(PALETTE[3], PALETTE[1], PALETTE[2]))
    times = board.response_times
    lines = {
        f"{kind}_{name}": line_chart(
            [_day(d.day) for d in durations], [_hours(getattr(d, f"{name}_s")) for d in durations],
            title=t(f"dashboard.resolution_{name}"), chart_id=f"{kind}-{name}",
            unit=" h", width=420, height=180, colour=colour)
        for kind, durations in (("resolution", times.time_to_resolution),
                                ("first_response", times.time_to_first_response))
        for name, colour in (("median", PALETTE[0]), ("p90", PALETTE[3]))}
    return {name: Markup(svg) for name, svg in {**volume, "sla": breaches, **lines}.items()}


# The reasons hub.reports.health gives (its _judge), in the person's language; another
# sentence is shown as the report wrote it.
_REASONS = (
    (re.compile(r"(?P<failed>\d+) of (?P<runs>\d+) runs of its jobs failed"),
     "health.reason.failed_runs"),
    (re.compile(r"score (?P<score>[\d.]+) < (?P<limit>[\d.]+)"), "health.reason.low_score"),
    (re.compile(r"score fell (?P<points>[\d.]+) points since the window before"),
     "health.reason.fell"),
    (re.compile(r"p95 latency (?P<before>[\d.]+) → (?P<now>[\d.]+) ms"),
     "health.reason.slower"),
    (re.compile(r"(?P<n>\d+) token/credential refusals"), "health.reason.tokens"),
)


def reason_text(t: Translator, reason: str) -> str:
    """One of a connection's health reasons in the person's language."""
    for pattern, key in _REASONS:
        found = pattern.fullmatch(reason)
        if found:
            return t(key, **found.groupdict())
    return reason


def health_cards(t: Translator, health: list[ConnectionHealth],
                 history: dict[str, list[HealthWindow]], *, size: int = 96,
                 spark_width: int = 160) -> list[dict[str, Any]]:
    """Each connection's health as the pages show it, failing and warning first: a gauge of
    its score now, a sparkline of its score over the history's windows, and the reasons."""
    cards = []
    for item in sorted(health, key=lambda h: (_SEVERITY.get(h.status, 9), h.connection)):
        scores = [w.score for w in history.get(item.connection, [])]
        cards.append({
            "health": item, "status": t(f"health.{item.status}"),
            "reasons": [reason_text(t, reason) for reason in item.reasons],
            "history": history.get(item.connection, []),
            "gauge": Markup(gauge(item.score, title=t("health.gauge", name=item.connection),
                                  chart_id=f"gauge-{item.connection}", status=item.status,
                                  size=size)),
            "sparkline": Markup(sparkline(
                scores, title=t("health.sparkline", name=item.connection,
                                n=len(scores)),
                chart_id=f"spark-{item.connection}", width=spark_width)),
        })
    return cards


@admitted("runs:read")
async def dashboard_page(request: Request, user: User) -> Response:  # noqa: ARG001
    """Every figure of GET /reports/dashboard (aggregates only: nothing to mask)."""
    days, zone = _days(request), _zone(request)
    hub = console_of(request).hub
    board = await blocking(recent_dashboard, hub, days=days, timezone=zone)
    _at, history = await blocking(recent_health_history, hub, hours=board.health_hours,
                                  windows=HEALTH_WINDOWS)
    t = Translator(language_of(request))
    return render(request, "dashboard.html", board=board, charts=_charts(t, board),
                  cards=health_cards(t, board.connections, history), days=days, zone=zone,
                  day_choices=DAY_CHOICES,
                  zones=ZONES if zone in ZONES else (*ZONES, zone),
                  health_windows=HEALTH_WINDOWS)


routes = [
    Route("/dashboard", dashboard_page, methods=["GET"]),
]
