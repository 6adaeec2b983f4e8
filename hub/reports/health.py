"""A health score per connection from its recent vendor calls (the `http.call` audit rows),
compared with the window before, so a connection sliding towards failure shows before it fails.

Each attempt is one audit row: `target` is `<connection>:<operation>`, `outcome` is `ok` or
the error kind, `detail.duration_ms` its latency. Per connection and window:

- answered: `ok`, `not_found` and `rejected` (the vendor answered; a refused document is a
  data problem, shown by the outbox, not the connection's);
- throttled: `rate_limited`; token failures: `auth` (credentials or token refused);
- failures: every other outcome (`transient`, `outcome_unknown`, `retriable`, …).

score = 100 − 60·min(1, failure_share / 0.25) − 15·min(1, throttle_share / 0.10)
            − 15·min(1, token_failures / 3) − 10·min(1, max(0, p95 − slow) / (3·slow))

with `slow` = 2,000 ms: a quarter of calls failing costs 60 points, a tenth throttled 15,
three refused tokens 15, a p95 of 8 s 10. Status: `idle` (no calls in the window), `failing`
(score < 50), `warning` (score < 80; or it fell by 10 points or more since the window before;
or its p95 doubled (and is over 500 ms); or any token failure — a credential about to expire
is refused once before every call is), else `ok`. Runs of the jobs that use the connection
(its own, an enrich job's sources) are counted beside the calls; a failed or interrupted one
is a reason to warn, even for a connection without calls, but not part of the score (a run
also fails on its mapping or its data).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, case, func, select

from hub.core.time import UtcDatetime
from hub.runtime import Hub
from hub.store.models import AuditRecord, Run

from ._sql import at, connection_of, percentiles_by
from .recent import RecentAnswers
from .window import ReportWindow

__all__ = ["ConnectionHealth", "HealthStatus", "HealthWindow", "connection_health",
           "health_history", "health_score", "judged", "recent_health_history"]

CALL_ACTION = "http.call"
ANSWERED = ("ok", "not_found", "rejected")
THROTTLED = "rate_limited"
TOKEN_FAILED = "auth"
SLOW_MS = 2000.0
WARN_BELOW, FAIL_BELOW, WARN_DROP = 80.0, 50.0, 10.0
HealthStatus = Literal["ok", "warning", "failing", "idle"]
FAILED_RUNS = ("failed", "interrupted")

_WINDOW_EXAMPLE: dict[str, Any] = {
    "start": "2026-12-02T04:00:00Z", "calls": 100, "answered": 100, "failures": 0,
    "throttled": 0, "token_failures": 0, "success_rate": 1.0, "p95_ms": 420.0, "score": 100.0}


class HealthWindow(BaseModel):
    """A connection's calls in one window."""

    model_config = ConfigDict(json_schema_extra={"examples": [_WINDOW_EXAMPLE]})

    start: UtcDatetime
    calls: int
    answered: int
    failures: int
    throttled: int
    token_failures: int
    success_rate: float | None = Field(description="answered / calls; null: no calls.")
    p95_ms: float | None = Field(description="Nearest-rank 95th percentile latency.")
    score: float | None = Field(description="0–100 (module docstring); null: no calls.")
    runs: int = Field(default=0, description="Runs of the jobs that use the connection.")
    failed_runs: int = Field(default=0, description="Of them, failed or interrupted.")


class ConnectionHealth(BaseModel):
    """A connection's health now, the window before, and what it says."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "connection": "yonyou", "score": 87.5, "trend": -12.5, "status": "warning",
        "reasons": ["score fell 12.5 points since the window before"],
        "recent": {**_WINDOW_EXAMPLE, "throttled": 8, "score": 87.5},
        "previous": {**_WINDOW_EXAMPLE, "start": "2026-12-01T04:00:00Z"}}]})

    connection: str
    score: float | None
    trend: float | None = Field(description="score now − score in the window before.")
    status: HealthStatus = Field(description="idle: no calls in the window.")
    reasons: list[str]
    recent: HealthWindow
    previous: HealthWindow


def health_score(*, calls: int, failures: int, throttled: int, token_failures: int,
                 p95_ms: float | None) -> float | None:
    """The formula of the module docstring (None for no calls)."""
    if calls <= 0:
        return None
    latency = 0.0 if p95_ms is None else max(0.0, p95_ms - SLOW_MS) / (3 * SLOW_MS)
    score = (100 - 60 * min(1.0, failures / calls / 0.25)
             - 15 * min(1.0, throttled / calls / 0.10)
             - 15 * min(1.0, token_failures / 3) - 10 * min(1.0, latency))
    return round(max(0.0, score), 1)


def connection_health(hub: Hub, window: ReportWindow, *, hours: float = 24.0
                      ) -> list[ConnectionHealth]:
    """Every configured connection, and any other that made calls, by name."""
    span = timedelta(hours=hours)
    recent_start, previous_start = window.now - span, window.now - 2 * span
    jobs = _connections_of_jobs(hub)
    with hub.engine.connect() as connection:
        recent = _window(connection, recent_start, window.now)
        previous = _window(connection, previous_start, recent_start)
        recent_runs = _runs(connection, recent_start, window.now, jobs)
        previous_runs = _runs(connection, previous_start, recent_start, jobs)
    names = sorted(set(hub.config.hub.connections) | set(recent) | set(previous))
    return [_judge(name, _with_runs(recent.get(name) or _empty(recent_start), recent_runs, name),
                   _with_runs(previous.get(name) or _empty(previous_start), previous_runs,
                              name))
            for name in names]


def _connections_of_jobs(hub: Hub) -> dict[str, set[str]]:
    """The connections each job of hub.yaml calls: its own, and an enrich job's sources."""
    found: dict[str, set[str]] = {}
    for name, job in hub.config.hub.jobs.items():
        own = getattr(job, "connection", None)
        used = {own} if isinstance(own, str) else set()
        used |= {source.connection for source in getattr(job, "sources", None) or ()}
        found[name] = used
    return found


def _runs(connection: Connection, start: datetime, end: datetime,
          jobs: dict[str, set[str]]) -> dict[str, tuple[int, int]]:
    """Runs, and failed or interrupted runs, of each connection's jobs started in [start, end)."""
    failed = Run.status.in_(FAILED_RUNS)
    query = select(Run.job, func.count(), func.sum(case((failed, 1), else_=0))) \
        .where(Run.started_at >= at(start), Run.started_at < at(end)).group_by(Run.job)
    found: dict[str, tuple[int, int]] = {}
    for job, runs, failures in connection.execute(query).all():
        for name in jobs.get(job, ()):
            total, bad = found.get(name, (0, 0))
            found[name] = (total + runs, bad + int(failures or 0))
    return found


def _with_runs(window: HealthWindow, runs: dict[str, tuple[int, int]], name: str
               ) -> HealthWindow:
    total, failed = runs.get(name, (0, 0))
    return window.model_copy(update={"runs": total, "failed_runs": failed}) if total else window


def _window(connection: Connection, start: datetime, end: datetime
            ) -> dict[str, HealthWindow]:
    where = [AuditRecord.action == CALL_ACTION, AuditRecord.at >= at(start),
             AuditRecord.at < at(end)]
    name_of = connection_of(AuditRecord.target)
    outcome = AuditRecord.outcome
    counts = select(
        name_of, func.count(),
        func.sum(case((outcome.in_(ANSWERED), 1), else_=0)),
        func.sum(case((outcome == THROTTLED, 1), else_=0)),
        func.sum(case((outcome == TOKEN_FAILED, 1), else_=0)),
    ).where(*where).group_by(name_of)
    latency = AuditRecord.detail["duration_ms"].as_float()
    p95s = {name: round(p[95], 1) for name, (_n, p)
            in percentiles_by(connection, name_of, latency, where, (95,)).items()}
    found: dict[str, HealthWindow] = {}
    for name, calls, answered, throttled, tokens in connection.execute(counts):
        answered, throttled, tokens = int(answered or 0), int(throttled or 0), int(tokens or 0)
        failures = calls - answered - throttled - tokens
        found[name] = HealthWindow(
            start=start, calls=calls, answered=answered, failures=failures,
            throttled=throttled, token_failures=tokens,
            success_rate=round(answered / calls, 4), p95_ms=p95s.get(name),
            score=health_score(calls=calls, failures=failures, throttled=throttled,
                               token_failures=tokens, p95_ms=p95s.get(name)))
    return found


def _empty(start: datetime) -> HealthWindow:
    return HealthWindow(start=start, calls=0, answered=0, failures=0, throttled=0,
                        token_failures=0, success_rate=None, p95_ms=None, score=None)


def _judge(name: str, recent: HealthWindow, previous: HealthWindow) -> ConnectionHealth:
    score = recent.score
    trend = None if score is None or previous.score is None \
        else round(score - previous.score, 1)
    reasons: list[str] = []
    status: HealthStatus = "idle"
    if recent.failed_runs:
        reasons.append(f"{recent.failed_runs} of {recent.runs} runs of its jobs failed")
        status = "warning"
    if score is not None:
        if score < WARN_BELOW:
            reasons.append(f"score {score:g} < {WARN_BELOW:g}")
        if trend is not None and trend <= -WARN_DROP:
            reasons.append(f"score fell {-trend:g} points since the window before")
        if recent.p95_ms is not None and previous.p95_ms is not None \
                and recent.p95_ms > 500 and recent.p95_ms >= 2 * previous.p95_ms:
            reasons.append(f"p95 latency {previous.p95_ms:g} → {recent.p95_ms:g} ms")
        if recent.token_failures:
            reasons.append(f"{recent.token_failures} token/credential refusals")
        status = "failing" if score < FAIL_BELOW else "warning" if reasons else "ok"
    return ConnectionHealth(connection=name, score=score, trend=trend, status=status,
                            reasons=reasons, recent=recent, previous=previous)


def health_history(hub: Hub, window: ReportWindow, *, hours: float = 24.0, windows: int = 7
                   ) -> dict[str, list[HealthWindow]]:
    """Each connection's last `windows` windows of `hours` ending at `window.now`, oldest
    first (the windows `connection_health` compares are the last two): the history a
    sparkline draws. Every configured connection, and any other that made calls."""
    span = timedelta(hours=hours)
    starts = [window.now - span * (windows - i) for i in range(windows)]
    jobs = _connections_of_jobs(hub)
    found: list[dict[str, HealthWindow]] = []
    runs: list[dict[str, tuple[int, int]]] = []
    with hub.engine.connect() as connection:
        for start in starts:
            found.append(_window(connection, start, start + span))
            runs.append(_runs(connection, start, start + span, jobs))
    names = sorted(set(hub.config.hub.connections).union(*found))
    return {name: [_with_runs(calls.get(name) or _empty(start), ran, name)
                   for start, calls, ran in zip(starts, found, runs, strict=True)]
            for name in names}


def judged(history: dict[str, list[HealthWindow]]) -> list[ConnectionHealth]:
    """Each connection's health as `connection_health` judges it, from the last two windows
    of its history (at least two windows)."""
    return [_judge(name, windows[-1], windows[-2]) for name, windows in history.items()]


_RECENT_HISTORY: RecentAnswers[tuple[datetime, dict[str, list[HealthWindow]]]] = \
    RecentAnswers()


def recent_health_history(hub: Hub, *, hours: float = 24.0, windows: int = 7,
                          max_age_s: float = 30.0
                          ) -> tuple[datetime, dict[str, list[HealthWindow]]]:
    """When, and `health_history` ending then, reused for `max_age_s` as the dashboard is
    (recent.py): what the console's dashboard and connections page draw."""
    key = (hub.settings.database_url, hours, windows)

    def compute() -> tuple[datetime, dict[str, list[HealthWindow]]]:
        window = ReportWindow.ending_now()
        return window.now, health_history(hub, window, hours=hours, windows=windows)

    return _RECENT_HISTORY.get(key, compute, max_age_s=max_age_s)
