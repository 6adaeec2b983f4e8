"""Tracing: OpenTelemetry spans, exported over OTLP/HTTP (protobuf) when the standard `OTEL_*`
variables ask for it, and off otherwise (README, "Tracing").

On when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, or
`OTEL_TRACES_EXPORTER=otlp`; off when neither, when `OTEL_TRACES_EXPORTER=none` or when
`OTEL_SDK_DISABLED=true`. The SDK's exporter reads the rest itself (headers, timeout,
compression, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`).

Off, nothing is installed: `span()` is one flag test and a null context, and no exporter
exists. One ticket is one trace: `traceparent()` is what queued work stores (the enrichment
queue and outbox rows, Celery tasks) and `resumed(value)` continues it where the work runs.
Every string attribute passes the process's redactors before it is recorded, a URL's query
values are never recorded, and a request path's long digit runs and e-mail addresses are
masked.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from connectors.sdk.redaction import PROCESS_REDACTOR, Redactor

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import Span

__all__ = ["SERVICE_NAME", "configure_tracing", "current_trace_id", "enabled", "flush", "resumed",
           "span", "span_scrubber", "tracing_wanted", "traceparent"]

log = logging.getLogger("hub.tracing")

SERVICE_NAME = "cs-integration-hub"
_PROPAGATOR = TraceContextTextMapPropagator()
_TRACER = trace.get_tracer("hub")
_PERSONAL_IN_PATH = re.compile(r"\d{7,}|[^/]*@[^/]*")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
_state: dict[str, Any] = {"on": False, "redactors": [PROCESS_REDACTOR]}


def enabled() -> bool:
    """Whether this process records spans (configure_tracing installed the SDK)."""
    return bool(_state["on"])


def tracing_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the `OTEL_*` variables ask for traces to be exported over OTLP."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    endpoint = (env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
                or env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip())
    if exporter not in ("", "otlp"):
        log.warning("OTEL_TRACES_EXPORTER=%s: the hub exports traces over otlp only; "
                    "tracing stays off", exporter)
        return False
    return bool(endpoint) or exporter == "otlp"


def configure_tracing(*, redactor: Redactor | None = None,
                      environ: Mapping[str, str] | None = None) -> bool:
    """Install the SDK's tracer provider with an OTLP/HTTP exporter when the `OTEL_*`
    variables ask for it (once per process; a later call only adds `redactor`). True when
    tracing is on."""
    if redactor is not None and redactor not in _state["redactors"]:
        _state["redactors"] = [redactor, *_state["redactors"]]
    if _state["on"] or not tracing_wanted(environ):
        return bool(_state["on"])
    protocol = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf")
    if protocol.strip().lower() != "http/protobuf":
        log.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s: the hub exports over http/protobuf",
                    protocol)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": SERVICE_NAME}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(span_scrubber())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _state["on"] = True
    return True


def span_scrubber() -> Any:
    """A span processor that masks secrets in string attributes as a span starts, keeps a
    URL's query keys only (a webhook's signature, nonce and timestamp ride in it) and masks
    what looks personal in a request's path (long digit runs, e-mail addresses). Made when
    tracing turns on: the SDK is imported only then."""
    from opentelemetry.sdk.trace import SpanProcessor

    class Scrubber(SpanProcessor):
        def on_start(self, span: Span, parent_context: Any = None) -> None:  # noqa: ARG002
            _scrub(span)

    return Scrubber()


def _scrub(span: Any) -> None:
    """Mask what a span's attributes hold of a secret (see span_scrubber)."""
    for key, value in dict(span.attributes or {}).items():
        if not isinstance(value, str):
            continue
        if key == "url.query":
            masked = "&".join(f"{part.split('=', 1)[0]}=***" for part in value.split("&")
                              if part)
        elif key == "url.path":  # a mistyped path may hold a mobile number or an e-mail
            masked = _masked(_PERSONAL_IN_PATH.sub("***", value))
        else:
            masked = _masked(value)
        if masked != value:
            span.set_attribute(key, masked)


def _masked(value: str) -> str:
    for redactor in _state["redactors"]:
        value = redactor.text(value)
    return value


def span(name: str, **attributes: Any) -> Any:
    """A context manager: a span named `name`, current inside it, when tracing is on; a null
    context otherwise. None-valued attributes are left out; an exception marks the span an
    error by its type alone (its message may hold what a trace must not)."""
    if not _state["on"]:
        return nullcontext()
    return _recording(name, {k: v for k, v in attributes.items() if v is not None})


@contextmanager
def _recording(name: str, attributes: dict[str, Any]) -> Iterator[Any]:
    with _TRACER.start_as_current_span(name, attributes=attributes, record_exception=False,
                                       set_status_on_exception=False) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_status(trace.StatusCode.ERROR, type(exc).__name__)
            raise


def traceparent() -> str | None:
    """The W3C `traceparent` of the current span, to store with queued work; None when
    tracing is off or no span is current."""
    if not _state["on"]:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def resumed(value: str | None) -> Iterator[None]:
    """Continue the trace `value` (a stored `traceparent`) inside; an absent or invalid one
    leaves the current context as it is."""
    if not _state["on"] or not value or not _TRACEPARENT.fullmatch(value):
        yield
        return
    parent = _PROPAGATOR.extract({"traceparent": value})
    if not trace.get_current_span(parent).get_span_context().is_valid:
        yield
        return
    token = otel_context.attach(parent)
    try:
        yield
    finally:
        otel_context.detach(token)


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex digits), for log lines; None when tracing is off
    or no span is current."""
    if not _state["on"]:
        return None
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def flush() -> None:
    """Export what has ended so far (a Celery task's spans, before its process may go)."""
    if _state["on"]:
        provider = trace.get_tracer_provider()
        force_flush = getattr(provider, "force_flush", None)
        if force_flush is not None:
            force_flush()
