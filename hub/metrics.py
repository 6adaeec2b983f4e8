"""Prometheus metrics, read from the store at scrape time.

The store already records everything worth counting (runs with their counts, the outbox),
so the collector asks it on each scrape: every process behind a load balancer reports the
same totals, nothing is lost when one restarts, and no request pays for bookkeeping. No label
ever carries a secret: job, status, connection and action names only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from .outbox import store as outbox_store
from .runtime import Hub
from .store.models import OutboxMessage, Run

__all__ = ["CONTENT_TYPE", "StoreCollector", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_RECORD_COUNTS = ("read", "created", "updated", "unchanged", "rejected", "skipped")


class StoreCollector(Collector):
    """Runs, records, retries and rate-budget waits per job; the outbox by state."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        runs = CounterMetricFamily("hub_runs", "Job runs, by job and outcome.",
                                   labels=["job", "status"])
        records = CounterMetricFamily("hub_run_records", "Records runs handled, by job and "
                                      "what happened to them.", labels=["job", "outcome"])
        retries = CounterMetricFamily("hub_run_retries", "HTTP retries made by runs.",
                                      labels=["job"])
        waits = CounterMetricFamily("hub_run_rate_budget_wait_seconds", "Time runs waited "
                                    "on a connection's rate budget.", labels=["job"])
        outbox = GaugeMetricFamily("hub_outbox_rows", "Write-backs in the outbox, by state "
                                   "(dead = dead letters).", labels=["connection", "action",
                                                                     "state"])
        dead = GaugeMetricFamily("hub_dead_letters", "Write-backs that failed for good and "
                                 "wait for a replay.")
        sums = [func.sum(getattr(Run, name)) for name in _RECORD_COUNTS]
        now = datetime.now(UTC)
        with self.hub.sessions() as session:
            for job, status, count in session.execute(
                    select(Run.job, Run.status, func.count()).group_by(Run.job, Run.status)):
                runs.add_metric([job, status], count)
            for job, *values in session.execute(
                    select(Run.job, *sums, func.sum(Run.retries), func.sum(Run.budget_wait_ms))
                    .group_by(Run.job)):
                for name, value in zip(_RECORD_COUNTS, values, strict=False):
                    records.add_metric([job, name], value or 0)
                retries.add_metric([job], values[-2] or 0)
                waits.add_metric([job], (values[-1] or 0) / 1000)
            in_flight = (OutboxMessage.status == "pending") & (OutboxMessage.lease_until >= now)
            for connection, action, status, leased, count in session.execute(
                    select(OutboxMessage.connection, OutboxMessage.action,
                           OutboxMessage.status, in_flight, func.count())
                    .group_by(OutboxMessage.connection, OutboxMessage.action,
                              OutboxMessage.status, in_flight)):
                state = "in_flight" if leased else status
                outbox.add_metric([connection, action, state], count)
            dead.add_metric([], outbox_store.depth(session, now)["dead"])
        yield from (runs, records, retries, waits, outbox, dead)


def render_metrics(hub: Hub) -> bytes:
    """The exposition text of every hub metric."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(hub))
    return generate_latest(registry)
