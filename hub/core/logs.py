"""Process logging: readable text or one JSON object per line, with the context of the work
(run id, job, ticket…, and the trace id when tracing is on) and every secret masked.

`log_context(run_id=…, job=…)` adds its fields to every record logged inside it, in asyncio
tasks and `asyncio.to_thread` / anyio worker threads started inside it too (they copy the
context; a bare `threading.Thread` does not). Redaction happens in the handler's formatter,
just before a line is written, so it covers every logger (children included, which a
logger's own filters never see), the message with its arguments, extra fields and tracebacks.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

from connectors.sdk.redaction import PROCESS_REDACTOR, Redactor, install_log_redaction

from .settings import Settings
from .tracing import current_trace_id

__all__ = ["JsonFormatter", "TextFormatter", "configure_logging", "current_context",
           "log_context"]

_CONTEXT: ContextVar[Mapping[str, Any]] = ContextVar(
    "hub_log_context", default=MappingProxyType({}))
# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}
_RESERVED = frozenset({"ts", "level", "logger", "message", "exc", "stack"})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add `fields` (run_id, job, ticket_id, slice, worker…) to every record logged inside."""
    token = _CONTEXT.set({**_CONTEXT.get(), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_CONTEXT.get())


class _Masks:
    """The redactors a line passes through: the hub's (every connection's secrets, learnt when
    the config loads) and the SDK's process-wide one (secrets met at run time, e.g. sessions)."""

    def __init__(self, redactor: Redactor | None) -> None:
        self.redactors = [r for r in (redactor, PROCESS_REDACTOR) if r is not None]

    def text(self, value: str) -> str:
        for redactor in self.redactors:
            value = redactor.text(value)
        return value

    def value(self, value: Any) -> Any:
        value = _jsonable(value)
        for redactor in self.redactors:
            value = redactor.mapping(value)
        return value


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)  # SecretStr prints as asterisks; other objects as they describe themselves


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's context and extra fields, extras winning over the context."""
    found = dict(getattr(record, "hub_context", None) or _CONTEXT.get())
    found.update((k, v) for k, v in vars(record).items()
                 if k not in _STANDARD and k != "hub_context" and not k.startswith("_"))
    return {k: v for k, v in found.items() if k not in _RESERVED}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, context/extra fields, exc."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.masks = _Masks(redactor)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record), "level": record.levelname, "logger": record.name,
            "message": self.masks.text(record.getMessage()),
        }
        line.update(self.masks.value(_fields(record)))
        if record.exc_info:
            line["exc"] = self.masks.text(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = self.masks.text(record.exc_text)
        if record.stack_info:
            line["stack"] = self.masks.text(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`ts LEVEL logger: message key=value…`, masked like the JSON form."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.masks = _Masks(redactor)

    def format(self, record: logging.LogRecord) -> str:
        fields = self.masks.value(_fields(record))
        suffix = "".join(f" {k}={v}" for k, v in fields.items())
        text = f"{_timestamp(record)} {record.levelname} {record.name}: " \
               f"{record.getMessage()}{suffix}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return self.masks.text(text)


class _ContextFilter(logging.Filter):
    """Pins the context at emit time (a QueueHandler would format it elsewhere)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "hub_context"):
            context = dict(_CONTEXT.get())
            trace_id = current_trace_id()
            if trace_id is not None:  # tracing on, a span current: the line joins its trace
                context["trace_id"] = trace_id
            record.__dict__["hub_context"] = context
        return True


class _HubHandler(logging.StreamHandler[TextIO]):
    """The handler configure_logging installs (found again and replaced on a second call)."""


def configure_logging(settings: Settings, *, redactor: Redactor | None = None,
                      stream: TextIO | None = None) -> logging.Handler:
    """Send the process's logs to stderr (or `stream`) as `settings.log_format` says, at
    `settings.log_level`, masking `redactor`'s secrets (pass `hub.redactor`) and the SDK's.

    Idempotent: a second call replaces the handler the first one installed.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _HubHandler)]:
        root.removeHandler(old)
        old.close()
    handler = _HubHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redactor) if settings.log_format == "json"
                         else TextFormatter(redactor))
    handler.addFilter(_ContextFilter())
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    install_log_redaction()  # other handlers (uvicorn's own, pytest's) get the SDK's filter
    return handler
