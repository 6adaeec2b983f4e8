"""The app factory: FastAPI's own OpenTelemetry instrumentation is on only where there is
somewhere to send what it records."""

from __future__ import annotations

import os

import pytest
from opentelemetry import trace

from hub.api.app import native_telemetry

OFF = {"tracing": False, "metrics": False, "logs": False}


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)


def test_without_an_exporter_or_a_provider__fastapi_s_telemetry_is_off() -> None:
    assert native_telemetry() == OFF


@pytest.mark.parametrize("name, value", [
    ("OTEL_TRACES_EXPORTER", "otlp"),
    ("OTEL_METRICS_EXPORTER", "prometheus"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces"),
])
def test_an_exporter_named_by_the_standard_variables_keeps_fastapi_s_defaults(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    assert native_telemetry() is None


def test_exporters_set_to_none_or_the_sdk_disabled_leave_it_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert native_telemetry() == OFF
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert native_telemetry() == OFF


def test_a_tracer_provider_already_installed_keeps_fastapi_s_defaults(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As `opentelemetry-instrument` leaves the process before the app is made."""
    monkeypatch.setattr(trace, "get_tracer_provider", trace.NoOpTracerProvider)
    assert native_telemetry() is None
