"""A span per vendor call, when the process traces (an OpenTelemetry SDK tracer provider is
installed, as `hub` does when the `OTEL_*` variables ask for it).

The span says which connection and operation, how it ended and after how many retries —
never the URL (its query may hold credentials), a header, a body or an error's text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace

from ._errors import ConnectorError

__all__ = ["record_attempt", "tracing_on", "vendor_span"]

_TRACER = trace.get_tracer("connectors.http")


def tracing_on() -> bool:
    """Whether a tracer provider is installed (without one, no span is made at all)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


@contextmanager
def vendor_span(connector: str, connection: str, operation: str, method: str
                ) -> Iterator[trace.Span]:
    """The current span for one call through HttpClient.send, retries included."""
    attributes: dict[str, str | int] = {"hub.connector": connector,
                                        "hub.connection": connection,
                                        "hub.operation": operation,
                                        "http.request.method": method, "hub.retries": 0}
    with _TRACER.start_as_current_span(
            f"{connector} {operation}", kind=trace.SpanKind.CLIENT, attributes=attributes,
            record_exception=False, set_status_on_exception=False) as span:
        try:
            yield span
        except BaseException as exc:
            kind = exc.kind if isinstance(exc, ConnectorError) else type(exc).__name__
            span.set_attribute("hub.outcome", kind)
            span.set_status(trace.StatusCode.ERROR, kind)
            raise


def record_attempt(*, status: int | None, attempt: int, outcome: str) -> None:
    """Note one attempt on the current vendor span: the last one's values stand."""
    span = trace.get_current_span()
    span.set_attribute("hub.retries", attempt - 1)
    span.set_attribute("hub.outcome", outcome)
    if status is not None:
        span.set_attribute("http.response.status_code", status)
