"""This process's connector calls, as Prometheus metrics: latency by connection, operation and
outcome, and the attempts that were retries. `Hub.connector` passes every attempt to
`observe_call`; hub.admin.metrics serves them beside the store's totals.

prometheus_client is imported on the first call observed, not before: with
`PROMETHEUS_MULTIPROC_DIR` set, it must be in the environment before that import.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram
    from prometheus_client.registry import Collector

    from connectors.sdk.http import CallRecord

__all__ = ["LATENCY_BUCKETS", "ConnectorCallMetrics", "connector_call_metrics", "observe_call"]

# Vendor APIs answer in 5 ms (a sandbox, a cache) to 30 s (a slow ERP query, a timeout).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Operations are names in connector code ("customers.list", "refund.create.save"); anything
# else (a path, an id slipped into a name) is folded into one label value.
_OPERATION = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")
_OTHER = "other"


@dataclass(frozen=True)
class ConnectorCallMetrics:
    """Every vendor HTTP attempt this process made: latency by connection, operation and
    outcome (its `_count` is the number of requests), and the attempts that were retries."""

    latency: Histogram
    retries: Counter

    def observe(self, call: CallRecord) -> None:
        operation = call.operation if _OPERATION.fullmatch(call.operation) else _OTHER
        self.latency.labels(call.connection, operation, call.outcome).observe(
            call.duration_ms / 1000)
        if call.attempt > 1:
            self.retries.labels(call.connection, operation).inc()

    def collectors(self) -> tuple[Collector, ...]:
        return self.latency, self.retries


@functools.cache
def connector_call_metrics() -> ConnectorCallMetrics:
    """The process's connector call metrics, made on first use (nothing at import time)."""
    from prometheus_client import Counter, Histogram

    labels = ["connection", "operation", "outcome"]
    return ConnectorCallMetrics(
        latency=Histogram(
            "hub_connector_request_seconds", "Vendor HTTP attempts made by this process, by "
            "connection, operation and outcome (ok or the error kind).", labels,
            registry=None, buckets=LATENCY_BUCKETS),
        retries=Counter(
            "hub_connector_retries", "Vendor HTTP attempts that were retries, by connection "
            "and operation.", labels[:2], registry=None),
    )


def observe_call(call: CallRecord) -> None:
    """The connector call hook's metrics half: `Hub.connector` passes it every attempt."""
    connector_call_metrics().observe(call)
