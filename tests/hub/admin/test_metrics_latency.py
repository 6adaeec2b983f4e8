"""Connector request latency per connection: observed from every call the hub's connectors make,
served by the API's /metrics and by the metrics server of processes without the API."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from connectors.crm.connector import CrmConnector
from connectors.sdk.http import CallRecord
from hub.admin.metrics import start_metrics_server
from hub.core.call_metrics import LATENCY_BUCKETS, connector_call_metrics, observe_call
from hub.runtime import Hub
from hub.store.models import AuditRecord

ROOT = Path(__file__).resolve().parents[3]


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    for collector in connector_call_metrics().collectors():
        registry.register(collector)
    return registry


def _count(connection: str, operation: str, outcome: str) -> float:
    """Requests so far (the histogram's _count: the process registry outlives each test)."""
    labels = {"connection": connection, "operation": operation, "outcome": outcome}
    value = _registry().get_sample_value("hub_connector_request_seconds_count", labels)
    return value or 0.0


def _call(connection: str, operation: str, *, attempt: int = 1, outcome: str = "ok",
          duration_ms: float = 12.0) -> CallRecord:
    return CallRecord(connector="crm", connection=connection, operation=operation,
                      method="GET", url="http://127.0.0.1/x", status=200, attempt=attempt,
                      duration_ms=duration_ms, outcome=outcome)


async def _crm_calls(crm: Any) -> None:
    """One call that succeeds and one the vendor refuses (an unknown customer: 404)."""
    assert isinstance(crm, CrmConnector)
    async with crm:
        assert (await crm.check()).ok
        assert await crm.client.get_customer("NO-SUCH-7731") is None


async def test_connector_call__in_histogram_and_in_api_metrics(
        hub: Hub, api_client: Any, crm_sandbox: Any) -> None:
    before_ok = _count("crm", "check", "ok")
    before_missing = _count("crm", "customers.get", "not_found")

    await _crm_calls(hub.connector("crm", actor="test"))

    assert _count("crm", "check", "ok") == before_ok + 1
    assert _count("crm", "customers.get", "not_found") == before_missing + 1
    with api_client(hub, role="integrator", scopes=()) as api:
        scraped = api.get("/metrics")
    assert scraped.status_code == 200
    text = scraped.text
    assert ('hub_connector_request_seconds_count{connection="crm",operation="check",'
            'outcome="ok"}') in text
    assert ('hub_connector_request_seconds_bucket{connection="crm",le="30.0",'
            'operation="customers.get",outcome="not_found"}') in text
    assert "# TYPE hub_dead_letters gauge" in text  # the store's metrics, beside them
    assert "NO-SUCH-7731" not in text
    assert crm_sandbox.api_key not in text


async def test_connector_call__custom_audit_hook_is_observed_too(hub: Hub) -> None:
    """The outbox replaces the audit hook; its calls must still reach the histogram."""
    seen: list[CallRecord] = []
    observed: list[CallRecord] = []
    before = _count("crm", "check", "ok")

    crm = hub.connector("crm", actor="test", audit_hook=seen.append, observe=observed.append)
    async with crm:
        assert (await crm.check()).ok

    assert _count("crm", "check", "ok") == before + 1
    assert [c.operation for c in seen] == [c.operation for c in observed] == ["check"]
    with hub.sessions() as session:  # the default hook it replaced audited nothing
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == 0


@pytest.mark.parametrize(("operation", "label"), [
    ("customers.list", "customers.list"),
    ("refund.create.save", "refund.create.save"),
    ("/api/v1/customers/C001", "other"),
    ("customers get C001", "other"),
    ("x" * 80, "other"),
    ("", "other"),
])
def test_observe_call__operation_label_is_a_name(operation: str, label: str) -> None:
    connection = f"labels-{uuid.uuid4().hex[:8]}"
    observe_call(_call(connection, operation))
    assert _count(connection, label, "ok") == 1
    if label != operation:
        assert _count(connection, operation, "ok") == 0


def test_observe_call__buckets_and_retries() -> None:
    connection = f"buckets-{uuid.uuid4().hex[:8]}"
    observe_call(_call(connection, "customers.list", duration_ms=3.0))
    observe_call(_call(connection, "customers.list", duration_ms=40_000.0, attempt=2,
                       outcome="transient"))
    registry = _registry()
    ok = {"connection": connection, "operation": "customers.list", "outcome": "ok"}
    slow = {**ok, "outcome": "transient"}
    assert registry.get_sample_value("hub_connector_request_seconds_bucket",
                                     {**ok, "le": "0.005"}) == 1
    assert registry.get_sample_value("hub_connector_request_seconds_bucket",
                                     {**slow, "le": "30.0"}) == 0
    assert registry.get_sample_value("hub_connector_request_seconds_bucket",
                                     {**slow, "le": "+Inf"}) == 1
    assert registry.get_sample_value("hub_connector_retries_total", {
        "connection": connection, "operation": "customers.list"}) == 1
    assert LATENCY_BUCKETS[0] == 0.005 and LATENCY_BUCKETS[-1] == 30.0


@pytest.fixture
def metrics_url(hub: Hub) -> Iterator[str]:
    server = start_metrics_server(hub, 0, host="127.0.0.1")
    try:
        yield f"http://127.0.0.1:{server.port}/metrics"
    finally:
        server.close()


async def test_metrics_server__serves_calls_and_store(hub: Hub, metrics_url: str,
                                                      crm_sandbox: Any) -> None:
    await _crm_calls(hub.connector("crm", actor="test"))

    async with httpx.AsyncClient() as client:
        scraped = await client.get(metrics_url)

    assert scraped.status_code == 200
    text = scraped.text
    assert ('hub_connector_request_seconds_count{connection="crm",operation="check",'
            'outcome="ok"}') in text
    assert "# TYPE hub_dead_letters gauge" in text
    assert "hub_dead_letters 0.0" in text
    assert crm_sandbox.api_key not in text


_PREFORK = """
import multiprocessing, sys
from connectors.sdk.http import CallRecord
from hub.admin.metrics import render_metrics
from hub.core.call_metrics import observe_call
from hub.runtime import Hub
from hub.core.settings import Settings


def child() -> None:
    observe_call(CallRecord(connector="crm", connection="crm", operation="customers.list",
                            method="GET", url="http://127.0.0.1/x", status=200, attempt=1,
                            duration_ms=7.0, outcome="ok"))


if __name__ == "__main__":
    children = [multiprocessing.get_context("fork").Process(target=child) for _ in range(3)]
    for process in children:
        process.start()
    for process in children:
        process.join()
    hub = Hub(Settings(database_url=sys.argv[1]))
    hub.upgrade_db()
    sys.stdout.write(render_metrics(hub).decode())
"""


@pytest.mark.slow
def test_metrics__calls_of_forked_children_with_a_multiprocess_dir(
        tmp_path: Path, sqlite_url: str) -> None:
    """A Celery prefork worker calls vendors in its children: with PROMETHEUS_MULTIPROC_DIR the
    process that serves the metrics reports their calls."""
    script = tmp_path / "prefork.py"
    script.write_text(_PREFORK)
    (tmp_path / "prom").mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}

    result = subprocess.run([sys.executable, str(script), sqlite_url], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=120, check=False)

    assert result.returncode == 0, result.stderr
    assert ('hub_connector_request_seconds_count{connection="crm",operation="customers.list",'
            'outcome="ok"} 3.0') in result.stdout
    assert "# TYPE hub_dead_letters gauge" in result.stdout
