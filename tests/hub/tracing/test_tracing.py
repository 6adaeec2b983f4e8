"""hub.core.tracing: off by default (no provider, no exporter, no span); the OTEL_* variables
that turn it on; attributes scrubbed; and `hub serve` with a collector on loopback: a valid
W3C traceparent is continued, an invalid one ignored, and `OTEL_TRACES_EXPORTER=none` or
`OTEL_SDK_DISABLED=true` send nothing; a pull run (`hub sync run`) is one trace of its parts,
pages and vendor calls, a retried call counting its retry; a refused write is an error span by
kind, never by message."""

from __future__ import annotations

import json
import os
import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from connectors.crm.sandbox import create_app as create_crm
from connectors.kingdee.sandbox import create_app as create_kingdee
from connectors.sdk.redaction import Redactor
from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector
from hub.core import tracing
from hub.outbox import Resolution
from hub.outbox.views import list_rows
from hub.runtime import Hub
from hub.tickets import TicketCreate, create_ticket
from hub.tickets.resolve import resolve_ticket

from .conftest import (
    ROOT,
    Receiver,
    hub_environment,
    output,
    run_hub,
    serve_hub,
    stop,
)


@pytest.fixture
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize("environ, wanted", [
    ({}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
    ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"},
     False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "TRUE"},
     False),
    ({"OTEL_TRACES_EXPORTER": "zipkin"}, False),  # the hub ships the OTLP exporter only
    ({"OTEL_METRICS_EXPORTER": "otlp"}, False),  # metrics are not traces
])
def test_the_otel_variables_that_turn_tracing_on(environ: dict[str, str],
                                                 wanted: bool) -> None:
    assert tracing.tracing_wanted(environ) is wanted


@pytest.mark.usefixtures("no_otel_environment")
def test_off_by_default__no_provider_no_exporter_no_span() -> None:
    assert tracing.configure_tracing() is False
    assert not tracing.enabled()
    # No SDK provider was installed: nothing could export.
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    with tracing.span("anything", **{"hub.ticket_id": 1}) as span:
        assert span is None
        assert tracing.traceparent() is None and tracing.current_trace_id() is None
    with tracing.resumed(f"00-{'a' * 32}-{'b' * 16}-01"):
        assert not trace.get_current_span().get_span_context().is_valid


def test_string_attributes_are_scrubbed_and_a_query_keeps_its_keys_only() -> None:
    redactor = Redactor()
    redactor.add("s3cr3t-value-42")
    tracing.configure_tracing(redactor=redactor, environ={})  # learns it, stays off
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(tracing.span_scrubber())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("test").start_span("x", attributes={
        "url.query": "signature=abc123&timestamp=1700000000&nonce=n0nce",
        "hub.note": "token s3cr3t-value-42 seen", "hub.count": 3,
        "url.path": "/customers/by-mobile/13800138000/a.b@example.com/7"}).end()
    [span] = exporter.get_finished_spans()
    assert span.attributes == {"url.query": "signature=***&timestamp=***&nonce=***",
                               "hub.note": "token *** seen", "hub.count": 3,
                               "url.path": "/customers/by-mobile/***/***/7"}


def _serve(tmp_path: Path, **otel: str) -> tuple[object, str]:
    env = hub_environment(HUB_DATABASE_URL=f"sqlite:///{tmp_path / 'hub.db'}",
                          HUB_CONFIG=str(ROOT / "configs/hub.yaml"),
                          HUB_MAPPINGS_DIR=str(ROOT / "mappings"), **otel)
    return serve_hub(env, cwd=tmp_path)


def _access_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if '"event": "access"' in line]


INVALID = [
    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # version ff is forbidden
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # an all-zero trace id
    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # an all-zero parent
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01",  # a short parent id
    "not a traceparent",
]


@pytest.mark.slow
def test_hub_serve_continues_a_valid_traceparent_and_ignores_an_invalid_one(
        tmp_path: Path, otlp_receiver: Receiver) -> None:
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    process, url = _serve(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.url)
    try:
        given = httpx.get(f"{url}/health", headers={
            "traceparent": f"00-{trace_id}-{parent}-01", "X-Request-Id": "valid"})
        for n, value in enumerate(INVALID):
            httpx.get(f"{url}/health", headers={"traceparent": value,
                                                "X-Request-Id": f"invalid-{n}"})
        assert given.status_code == 200
    finally:
        stop(process)
    spans = [span for span in otlp_receiver.spans if span.name == "GET /health"]
    assert len(spans) == 1 + len(INVALID)
    continued = [span for span in spans if span.trace_id == trace_id]
    assert len(continued) == 1 and continued[0].parent_id == parent
    assert continued[0].kind == 2  # SERVER
    fresh = [span for span in spans if span.trace_id != trace_id]
    assert all(span.parent_id is None for span in fresh)
    assert len({span.trace_id for span in fresh}) == len(INVALID)
    assert "0af7651916cd43dd8448eb211c80319c" not in {span.trace_id for span in fresh}
    assert otlp_receiver.paths and set(otlp_receiver.paths) == {"/v1/traces"}
    lines = {line["request_id"]: line["trace_id"] for line in
             _access_lines(output(process, tmp_path))}  # type: ignore[arg-type]
    assert lines["valid"] == trace_id
    assert {lines[f"invalid-{n}"] for n in range(len(INVALID))} == {
        span.trace_id for span in fresh}


@pytest.mark.slow
@pytest.mark.parametrize("switch", [{"OTEL_TRACES_EXPORTER": "none"},
                                    {"OTEL_SDK_DISABLED": "true"}])
def test_hub_serve_with_tracing_switched_off_sends_nothing(
        tmp_path: Path, otlp_receiver: Receiver, switch: dict[str, str]) -> None:
    process, url = _serve(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.url, **switch)
    try:
        answer = httpx.get(f"{url}/health", headers={
            "traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"})
        assert answer.status_code == 200
    finally:
        stop(process)
    assert otlp_receiver.spans == [] and otlp_receiver.paths == []  # the process has ended
    [line] = _access_lines(output(process, tmp_path))
    assert line["trace_id"] is None


PULL_CONFIG = """
version: 1
connections:
  crm:
    type: crm
    config: {{base_url: "{url}", api_key: "{key}", page_size: 10}}
jobs:
  crm_customers:
    kind: pull
    connection: crm
    stream: customers
    mapping: crm_customer
    concurrency: 2
    slices: 2
"""


@pytest.mark.slow
def test_a_pull_run_is_one_trace_of_its_parts_pages_and_vendor_calls(
        tmp_path: Path, otlp_receiver: Receiver) -> None:
    key = "crm-pull-trace-key-7a1c"
    app = create_crm(api_key=key, customers=35)
    faults = FaultInjector(app)
    faults.fail_next(1, status=503)  # the first call is retried once
    with serve(faults) as crm_url:
        config = tmp_path / "hub.yaml"
        config.write_text(PULL_CONFIG.format(url=crm_url, key=key), encoding="utf-8")
        env = hub_environment(HUB_DATABASE_URL=f"sqlite:///{tmp_path / 'hub.db'}",
                              HUB_CONFIG=str(config), HUB_MAPPINGS_DIR=str(ROOT / "mappings"),
                              OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.url)
        run_hub(["sync", "run", "crm_customers"], env, cwd=tmp_path)
    [run] = [span for span in otlp_receiver.spans if span.name == "pull.run"]
    assert run.parent_id is None and run.attributes["hub.job"] == "crm_customers"
    spans = otlp_receiver.trace(run.trace_id)
    by_id = {span.span_id: span for span in spans}
    parts = [span for span in spans if span.name == "pull.part"]
    pages = [span for span in spans if span.name == "pull.page"]
    calls = [span for span in spans if span.attributes.get("hub.connector") == "crm"]
    assert len(parts) == 2 and all(part.parent_id == run.span_id for part in parts)
    assert pages and all(by_id[page.parent_id].name == "pull.part" for page in pages)
    assert sum(int(page.attributes["hub.records"]) for page in pages) == 35
    callers = [by_id[call.parent_id].name for call in calls]  # planning is the run's
    assert "pull.part" in callers and set(callers) <= {"pull.part", "pull.run"}
    assert {call.attributes["hub.outcome"] for call in calls} == {"ok"}
    assert sorted(call.attributes["hub.retries"] for call in calls) == [0] * (len(calls) - 1) + [1]
    assert {call.attributes["http.response.status_code"] for call in calls} == {200}
    everything = " ".join(str(value) for span in otlp_receiver.spans
                          for value in span.attributes.values())
    assert key not in everything and crm_url not in everything
    assert not any(c["contact"]["mobile"] in everything for c in app.state.sandbox.customers)


@pytest.mark.slow
async def test_a_refused_write_marks_its_spans_by_kind_never_by_message(
        hub: Hub, tmp_path: Path, otlp_receiver: Receiver, crm_sandbox: Any) -> None:
    """A refund the ERP refuses (its period is closed): the outbox.write span is an error by
    the exception's type and the Kingdee call's by its kind, `rejected`; the vendor's message
    (FDATE, 已结账) is in the dead letter, never in a span. A row queued with tracing off has
    no traceparent: its write is a child of the dispatcher's run."""
    app = create_kingdee(latency_ms=0)
    app.state.sandbox.store.closed_before = (date.today() + timedelta(days=2)).isoformat()
    with serve(app) as url:
        env = hub_environment(
            HUB_DATABASE_URL=hub.settings.database_url, HUB_CONFIG=str(hub.settings.config),
            HUB_MAPPINGS_DIR=str(hub.settings.mappings_dir), KINGDEE_BASE_URL=f"{url}/k3cloud/",
            CRM_BASE_URL=crm_sandbox.url, CRM_API_KEY=crm_sandbox.api_key,
            OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.url)
        ticket = await create_ticket(hub, TicketCreate(subject="净水器漏水", channel="phone"),
                                     actor="test")
        [row] = resolve_ticket(hub, ticket.id, Resolution.model_validate(
            {"customer_number": "C002", "refund": {"amount": "88.50", "method": "wire"}}),
            actor="agent")
        assert row.traceparent is None  # tracing is off in this process
        run_hub(["outbox", "dispatch"], env, cwd=tmp_path, exit_code=4)  # 4: dead letters
    [dead] = list_rows(hub, status="dead").items
    assert "FDATE" in (dead.error or "")
    [dispatch] = [span for span in otlp_receiver.spans if span.name == "outbox.dispatch"]
    [write] = [span for span in otlp_receiver.spans if span.name == "outbox.write"]
    assert dispatch.parent_id is None and write.parent_id == dispatch.span_id
    assert write.status_code == 2 and write.attributes["hub.outbox_id"] == row.id  # ERROR
    [save] = [span for span in otlp_receiver.spans
              if span.attributes.get("hub.operation") == "refund.create.save"]
    assert save.parent_id == write.span_id and save.status_code == 2
    assert save.attributes["hub.outcome"] == "rejected"
    everything = " ".join(str(value) for span in otlp_receiver.spans
                          for value in span.attributes.values())
    assert "FDATE" not in everything and "已结账" not in everything
