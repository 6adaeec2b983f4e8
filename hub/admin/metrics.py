"""Prometheus metrics: the store's totals, read at scrape time, and this process's connector calls.

The store already records everything worth counting (runs with their counts, the outbox),
so the collector asks it on each scrape: every process behind a load balancer reports the
same totals, nothing is lost when one restarts, and no request pays for bookkeeping. Request
latency is the exception: it lives only in the process that made the call, in a histogram fed
by the connector call hook (`Hub.connector`, through hub.core.call_metrics). No label ever
carries a secret or an id: job, status, connection, operation and action names only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from hub.core.call_metrics import connector_call_metrics
from hub.enrichment import queue as enrichment_queue
from hub.outbox import store as outbox_store
from hub.runtime import Hub
from hub.store.models import OutboxMessage, Run

__all__ = [
    "CONTENT_TYPE",
    "MetricsServer",
    "StoreCollector",
    "metrics_registry",
    "render_metrics",
    "start_metrics_server",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_RECORD_COUNTS = ("read", "created", "updated", "unchanged", "rejected", "skipped")


class StoreCollector(Collector):
    """Runs, records, retries and rate-budget waits per job, runs under way; the outbox and
    the enrichment queue by state."""

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
        enrichment = GaugeMetricFamily("hub_enrichment_queue", "Tickets in the enrichment "
                                       "queue, by state (failed = out of retries, left "
                                       "partially enriched).", labels=["state"])
        running = GaugeMetricFamily("hub_jobs_running", "Runs under way, by job.",
                                    labels=["job"])
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
            in_flight = (OutboxMessage.status == "pending") & outbox_store.LEASE.held(now)
            for connection, action, status, leased, count in session.execute(
                    select(OutboxMessage.connection, OutboxMessage.action,
                           OutboxMessage.status, in_flight, func.count())
                    .group_by(OutboxMessage.connection, OutboxMessage.action,
                              OutboxMessage.status, in_flight)):
                state = "in_flight" if leased else status
                outbox.add_metric([connection, action, state], count)
            dead.add_metric([], outbox_store.depth(session, now)["dead"])
            for state, count in enrichment_queue.depth(session, now).items():
                enrichment.add_metric([state], count)
            for job, count in session.execute(select(Run.job, func.count()).where(
                    Run.status == "running").group_by(Run.job)):
                running.add_metric([job], count)
        yield from (runs, records, retries, waits, outbox, dead, enrichment, running)


def metrics_registry(hub: Hub) -> CollectorRegistry:
    """A registry of every hub metric: the store's totals and this process's calls.

    With `PROMETHEUS_MULTIPROC_DIR` set (before prometheus_client is imported), every process
    writes its calls to a file there and the calls of all of them are served: a Celery
    prefork worker's calls are made in its children, not in the process that serves.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(hub))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry.register(MultiProcessCollector(None))  # type: ignore[no-untyped-call]
    else:
        for collector in connector_call_metrics().collectors():
            registry.register(collector)
    return registry


def render_metrics(hub: Hub) -> bytes:
    """The exposition text of every hub metric."""
    return generate_latest(metrics_registry(hub))


@dataclass(frozen=True)
class MetricsServer:
    """A running /metrics endpoint of a process without the API (worker, scheduler)."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_metrics_server(hub: Hub, port: int, *, host: str = "0.0.0.0") -> MetricsServer:
    """Serve every hub metric on `host:port` (0: an ephemeral port) from a daemon thread.

    It answers any path without authentication, as Prometheus expects: the metrics carry no
    secret and no id, but keep the port on the monitoring network.
    """
    server, thread = start_http_server(port, addr=host, registry=metrics_registry(hub))
    return MetricsServer(server=server, thread=thread)
