"""Ticket figures: volume per day (by channel, category, status), SLA breaches, and the time
tickets take to be first answered, enriched and resolved.

What the store records of a ticket's clock: `created_at` (empty for an imported ticket whose
source gave no time: such tickets are left out of every figure here), `first_response_at`
(when a person first answered it: the first reply sent to the customer, status change by an
agent, or resolution — set once; tickets answered before the hub recorded it have none),
`enriched_at`, `resolved_at` (the last resolution) and `updated_at`. `enriched_at` and
`resolved_at` are the last enrichment and resolution: a ticket enriched again (its customer
changed) or reopened and resolved again counts with its later time.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Connection, case, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute

from hub.runtime import Hub
from hub.store.models import TERMINAL_TICKET_STATUSES, Ticket

from ._sql import Percentiles, as_day, at, day_of, percentiles_by, seconds_between
from .recent import RecentAnswers
from .window import ReportWindow

__all__ = ["DEFAULT_SLA_HOURS", "DurationDay", "ResponseTimes", "Series", "SlaBreaches",
           "TicketVolume", "response_times", "sla_breaches", "ticket_figures", "ticket_volume"]

# The days before today of the response times change only when a ticket is resolved (or
# enriched) again, or imported with past times: they are read again after this long.
PAST_DAYS_MAX_AGE_S = 600.0
_PAST_DAYS: RecentAnswers[Percentiles] = RecentAnswers(size=64)
# Hours from a ticket's arrival to its resolution, by priority (unknown priorities: normal).
DEFAULT_SLA_HOURS: dict[str, float] = {"urgent": 4, "high": 8, "normal": 24, "low": 72}
NO_CATEGORY = "(none)"


class Series(BaseModel):
    """One key's values, one per day of `days`."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"key": "wecom", "values": [12, 9, 15]}]})

    key: str
    values: list[int]


class TicketVolume(BaseModel):
    """Tickets opened per day, split three ways (each split sums to `totals`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "days": ["2026-12-01", "2026-12-02", "2026-12-03"], "totals": [30, 25, 31],
        "by_channel": [{"key": "wecom", "values": [18, 15, 20]},
                       {"key": "phone", "values": [12, 10, 11]}],
        "by_category": [{"key": "退款", "values": [30, 25, 31]}],
        "by_status": [{"key": "resolved", "values": [28, 20, 5]},
                      {"key": "open", "values": [2, 5, 26]}]}]})

    days: list[date]
    totals: list[int]
    by_channel: list[Series]
    by_category: list[Series] = Field(description=f"`{NO_CATEGORY}`: no category.")
    by_status: list[Series] = Field(description="The tickets' status now.")


class SlaBreaches(BaseModel):
    """Tickets opened per day by where their resolution clock stands: breached (resolved late,
    or open past the target), met (resolved in time) or running (open, still in time)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "days": ["2026-12-01", "2026-12-02", "2026-12-03"], "breached": [2, 1, 0],
        "met": [28, 20, 5], "running": [0, 4, 26],
        "targets_hours": {"urgent": 4, "high": 8, "normal": 24, "low": 72},
        "open_breached": 3}]})

    days: list[date]
    breached: list[int]
    met: list[int]
    running: list[int]
    targets_hours: dict[str, float]
    open_breached: int = Field(description="Tickets open now past their target (any age).")


class DurationDay(BaseModel):
    """Durations (seconds) of the tickets of one day: nearest-rank median and 90th percentile."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"day": "2026-12-01", "count": 28, "median_s": 36000.0, "p90_s": 151200.0}]})

    day: date
    count: int
    median_s: float
    p90_s: float


class ResponseTimes(BaseModel):
    """Time to resolution per day resolved; time to first response and to enrichment per day
    opened."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "time_to_first_response": [{"day": "2026-12-01", "count": 27, "median_s": 540.0,
                                    "p90_s": 3600.0}],
        "time_to_resolution": [{"day": "2026-12-01", "count": 28, "median_s": 36000.0,
                                "p90_s": 151200.0}],
        "time_to_enrichment": [{"day": "2026-12-01", "count": 30, "median_s": 1.6,
                                "p90_s": 4.2}]}]})

    time_to_first_response: list[DurationDay] = Field(description=(
        "From arrival to the first answer by a person (the first reply sent to the customer, "
        "status change by an agent, or resolution), by the day opened; tickets not answered "
        "yet are not counted."))
    time_to_resolution: list[DurationDay]
    time_to_enrichment: list[DurationDay]


def _in_window(window: ReportWindow,
               column: InstrumentedAttribute[datetime | None] = Ticket.created_at,
               ) -> list[ColumnElement[bool]]:
    return [column >= at(window.start), column < at(window.end)]


def ticket_volume(hub: Hub, window: ReportWindow) -> TicketVolume:
    with hub.engine.connect() as connection:
        return _volume(window, _opened(connection, window, None))


def sla_breaches(hub: Hub, window: ReportWindow,
                 targets_hours: dict[str, float] | None = None) -> SlaBreaches:
    targets = {**DEFAULT_SLA_HOURS, **(targets_hours or {})}
    with hub.engine.connect() as connection:
        return _sla(window, targets, _opened(connection, window, targets, split=False),
                    _open_breached(connection, window, targets))


def ticket_figures(hub: Hub, window: ReportWindow,
                   targets_hours: dict[str, float] | None = None
                   ) -> tuple[TicketVolume, SlaBreaches]:
    """`ticket_volume` and `sla_breaches` from one read of the window's tickets (the
    dashboard's: the grouping is most of either's time)."""
    targets = {**DEFAULT_SLA_HOURS, **(targets_hours or {})}
    with hub.engine.connect() as connection:
        groups = _opened(connection, window, targets)
        open_breached = _open_breached(connection, window, targets)
    return _volume(window, groups), _sla(window, targets, groups, open_breached)


# A group of the window's tickets: day index, channel, category, status, how many, and of
# them how many breached and met their SLA (0 and 0 when not asked for).
_Group = tuple[int, str, str, str, int, int, int]


def _sla_clock(window: ReportWindow, targets: dict[str, float]
               ) -> tuple[ColumnElement[float], ColumnElement[bool], ColumnElement[Any]]:
    """The target (seconds), `late` and the moment the clock stopped (null: running)."""
    target_s = case({p: h * 3600.0 for p, h in targets.items()}, value=Ticket.priority,
                    else_=targets["normal"] * 3600.0)
    closed = Ticket.status.in_(TERMINAL_TICKET_STATUSES)
    # A ticket closed without a resolution stopped its clock when it was last changed.
    stopped = func.coalesce(Ticket.resolved_at, case((closed, Ticket.updated_at)))
    elapsed = seconds_between(func.coalesce(stopped, at(window.now)), Ticket.created_at)
    return target_s, elapsed > target_s, stopped


def _opened(connection: Connection, window: ReportWindow, targets: dict[str, float] | None,
            *, split: bool = True) -> list[_Group]:
    """The window's tickets grouped by day (and by channel, category and status if `split`:
    without, those are empty)."""
    day = day_of(Ticket.created_at, window.offset_minutes)
    category = func.coalesce(Ticket.category, NO_CATEGORY)
    keys: list[Any] = [day, Ticket.channel, category, Ticket.status] if split \
        else [day, literal(""), literal(""), literal("")]
    sums: list[ColumnElement[Any]] = []
    if targets is not None:
        _target, late, stopped = _sla_clock(window, targets)
        sums = [func.sum(case((late, 1), else_=0)),
                func.sum(case((stopped.is_not(None) & ~late, 1), else_=0))]
    query = select(*keys, func.count(), *sums).where(*_in_window(window)) \
        .group_by(*(keys if split else [day]))
    index = {d: i for i, d in enumerate(window.day_list)}
    groups: list[_Group] = []
    for row in connection.execute(query).all():
        i = index.get(as_day(row[0]))
        if i is not None:
            breached, met = (int(row[5] or 0), int(row[6] or 0)) if sums else (0, 0)
            groups.append((i, row[1], row[2], row[3], row[4], breached, met))
    return groups


def _open_breached(connection: Connection, window: ReportWindow,
                   targets: dict[str, float]) -> int:
    target_s, _late, _stopped = _sla_clock(window, targets)
    return connection.scalar(select(func.count()).where(
        Ticket.status.not_in(TERMINAL_TICKET_STATUSES), Ticket.resolved_at.is_(None),
        Ticket.created_at.is_not(None),
        seconds_between(at(window.now), Ticket.created_at) > target_s)) or 0


def _volume(window: ReportWindow, groups: list[_Group]) -> TicketVolume:
    days = window.day_list
    totals = [0] * len(days)
    splits: list[dict[str, list[int]]] = [defaultdict(lambda: [0] * len(days)) for _ in range(3)]
    for i, channel, category, status, count, _breached, _met in groups:
        totals[i] += count
        for split, key in zip(splits, (channel, category, status), strict=True):
            split[key][i] += count
    by_channel, by_category, by_status = (_series(split) for split in splits)
    return TicketVolume(days=days, totals=totals, by_channel=by_channel,
                        by_category=by_category, by_status=by_status)


def _series(split: dict[str, list[int]]) -> list[Series]:
    """Largest first, then by name: the order a stacked chart and its legend draw."""
    return [Series(key=key, values=values)
            for key, values in sorted(split.items(), key=lambda kv: (-sum(kv[1]), kv[0]))]


def _sla(window: ReportWindow, targets: dict[str, float], groups: list[_Group],
         open_breached: int) -> SlaBreaches:
    days = window.day_list
    breached, met, running = [0] * len(days), [0] * len(days), [0] * len(days)
    for i, _channel, _category, _status, count, late_n, met_n in groups:
        breached[i] += late_n
        met[i] += met_n
        running[i] += count - late_n - met_n
    return SlaBreaches(days=days, breached=breached, met=met, running=running,
                       targets_hours=targets, open_breached=open_breached)


def response_times(hub: Hub, window: ReportWindow, *,
                   past_max_age_s: float = PAST_DAYS_MAX_AGE_S) -> ResponseTimes:
    """Today's durations read now; the days before, as read at most `past_max_age_s` ago
    by this process (they change only when a ticket is resolved or enriched again, or
    imported with past times: see PAST_DAYS_MAX_AGE_S)."""
    today = window.end - timedelta(days=1)
    found: dict[str, Percentiles] = {}
    with hub.engine.connect() as connection:
        for kind in ("first_response", "resolution", "enrichment"):
            past = _PAST_DAYS.get(
                (hub.settings.database_url, kind, window.offset_minutes, window.start, today),
                partial(_durations, connection, kind, window.offset_minutes, window.start,
                        today),
                max_age_s=past_max_age_s)
            found[kind] = {**past, **_durations(connection, kind, window.offset_minutes, today,
                                                window.end)}
    return ResponseTimes(time_to_first_response=_duration_days(found["first_response"]),
                         time_to_resolution=_duration_days(found["resolution"]),
                         time_to_enrichment=_duration_days(found["enrichment"]))


def _durations(connection: Connection, kind: str, offset_minutes: int, start: datetime,
               end: datetime) -> Percentiles:
    """Median and p90 per day of [start, end): time to resolution by the day resolved, or
    time to first response or to enrichment by the day opened."""
    if kind == "resolution":
        return percentiles_by(
            connection, day_of(Ticket.resolved_at, offset_minutes),
            seconds_between(Ticket.resolved_at, Ticket.created_at),
            [Ticket.resolved_at >= at(start), Ticket.resolved_at < at(end),
             Ticket.created_at.is_not(None)], (50, 90), day_key=True)
    moment = Ticket.first_response_at if kind == "first_response" else Ticket.enriched_at
    return percentiles_by(
        connection, day_of(Ticket.created_at, offset_minutes),
        seconds_between(moment, Ticket.created_at),
        [Ticket.created_at >= at(start), Ticket.created_at < at(end), moment.is_not(None)],
        (50, 90), day_key=True)


def _duration_days(found: Percentiles) -> list[DurationDay]:
    return sorted((DurationDay(day=as_day(day), count=n, median_s=round(max(0.0, p[50]), 1),
                               p90_s=round(max(0.0, p[90]), 1))
                   for day, (n, p) in found.items()), key=lambda d: d.day)
