"""The no-secret-anywhere check: logs, CallRecords, errors and reprs, on every path."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable
from typing import Any

from .._errors import ConnectorError
from .._http import CallRecord
from ._harness import SandboxHarness, capture_logs

__all__ = ["check_no_secrets"]

_FORMATTER = logging.Formatter()


async def check_no_secrets(h: SandboxHarness) -> None:
    """Drive the connector down its success, retry, failure and auth paths with DEBUG logging
    on, then look for every secret value in everything it showed."""
    shown: list[tuple[str, str]] = []  # (where, text)
    calls: list[CallRecord] = []
    with capture_logs() as records:
        async with h.connector(calls=calls) as connector:
            shown += [("repr(connector)", repr(connector)), ("str(config)", str(connector.config)),
                      ("repr(config)", repr(connector.config)),
                      ("repr(auth())", repr(connector.auth()))]
            shown.append(("check() result", repr(await connector.check())))
            h.faults.fail_next(1, status=503, path_prefix=h.stream_path)
            h.faults.fail_next(1, status=429, retry_after=0, path_prefix=h.stream_path)
            await h.exercise(connector)
            if h.spec.expire_tokens is not None:
                h.spec.expire_tokens(h.app)
                await h.exercise(connector)
        async with h.connector(calls=calls, max_attempts=2) as connector:
            h.faults.fail_next(2, status=503, path_prefix=h.stream_path)
            shown += await _error(h, "error after 503s", h.exercise(connector))
            h.faults.drop_next(2, path_prefix=h.stream_path)
            shown += await _error(h, "error after dropped connections", h.exercise(connector))
        if h.spec.bad_config is not None:
            async with h.connector(bad=True, calls=calls) as connector:
                shown += await _error(h, "bad-credentials error", h.exercise(connector))
                shown.append(("bad-credentials check()", repr(await connector.check())))
    shown += [(f"CallRecord {n}", repr(call)) for n, call in enumerate(calls)]
    shown += [(f"log record of {r.name!r}", _format(r)) for r in records]
    secrets = h.secrets()
    for where, text in shown:  # in the order the scenario showed them
        for secret in secrets:
            if secret in text:
                excerpt = text.replace(secret, "<SECRET>")[:300]
                raise AssertionError(f"a secret value appears in the {where}: {excerpt}")


async def _error(h: SandboxHarness, where: str, read: Awaitable[Any]) -> list[tuple[str, str]]:
    try:
        await read
    except ConnectorError as exc:
        chain = "".join(traceback.format_exception(exc))  # causes and contexts included
        return [(where, str(exc)), (where, repr(exc)), (f"{where} traceback", chain)]
    what = f"the read of {h.spec.stream!r}" if h.spec.stream else "the operation"
    raise AssertionError(f"expected {what} to fail ({where}), but it succeeded")


def _format(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info:
        text += "\n" + _FORMATTER.formatException(record.exc_info)
    return text
