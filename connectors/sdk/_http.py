"""The one send function every connector uses: retries, Retry-After, typed errors, audit,
and, when the process traces (OpenTelemetry), one span per call."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpx
import orjson
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

from ._budget import RateBudget
from ._errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from ._redact import Redactor, is_sensitive_name, register_credential
from ._tracing import record_attempt, tracing_on, vendor_span

__all__ = ["CallHook", "CallRecord", "HttpClient", "RetryPolicy", "SendStats",
           "parse_retry_after", "read_json"]

log = logging.getLogger("connectors.http")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Transport errors raised before a single byte of the request could have been processed.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard the send function tries before it gives up.

    Attributes:
        attempts: total tries, the first included.
        backoff_initial: first exponential backoff wait, in seconds (jitter is added).
        backoff_max: the longest backoff wait.
        max_retry_after: cap on a vendor's Retry-After; a longer ask is waited only this long.
    """

    attempts: int = 4
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    max_retry_after: float = 30.0


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One HTTP attempt as the audit log sees it: redacted, no bodies, no headers."""

    connector: str
    connection: str
    operation: str
    method: str
    url: str
    status: int | None
    attempt: int
    duration_ms: float
    outcome: str  # "ok", "retrying" or the error kind
    error: str | None = None


@dataclass(slots=True)
class SendStats:
    """What a client has done so far: the run's status reads it after each page."""

    attempts: int = 0
    retries: int = 0
    budget_wait_s: float = 0.0


CallHook = Callable[[CallRecord], None]
ResponseCheck = Callable[[httpx.Response], ConnectorError | None]


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying context per process: building one costs tens of ms of blocked event loop,
    which httpx would otherwise spend on every new client."""
    return httpx.create_ssl_context()


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header, in delta-seconds or HTTP-date form."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def read_json(response: httpx.Response) -> Any:
    """The response's body as JSON; ValueError when it is not JSON. orjson reads it (a
    page of 1,000 records in half the time), except where it would answer otherwise than
    the standard library: it reads an integer past 64 bits as a float (a body with 19 digits
    in a row goes to the standard library), and what it refuses and the standard library
    takes (NaN, UTF-16 or UTF-32, a lone surrogate) is read as the standard library reads
    it."""
    content = response.content
    # Digits to "0", all else to "x", then one substring search: a tenth of a regex's time.
    if content.translate(_DIGITS_AS_ZERO).find(_LONG_RUN) < 0:
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
    return json.loads(content)


_DIGITS_AS_ZERO = bytes(b"0"[0] if b"0"[0] <= byte <= b"9"[0] else b"x"[0]
                        for byte in range(256))
_LONG_RUN = b"0" * 19


def _vendor_error(response: httpx.Response) -> tuple[str | None, str]:
    """The vendor's code and message from an error body, whatever its common shape."""
    try:
        body = read_json(response)
    except ValueError:
        return None, (response.reason_phrase or "error")
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping):
            code = error.get("code") or error.get("errcode") or error.get("error_code")
            message = error.get("message") or error.get("errmsg") or error.get("msg")
            return (str(code) if code is not None else None), str(message or response.reason_phrase)
        if isinstance(error, str):
            return error, str(body.get("error_description") or body.get("message") or error)
    return None, response.reason_phrase or "error"


class _NoCookies(CookieJar):
    """A jar that keeps nothing, for vendors whose auth puts the session on each request
    itself: an empty jar spares httpx its per-request cookie matching."""

    def set_cookie(self, cookie: Cookie) -> None:
        pass

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass


_MAX_URLS = 512  # absolute URLs kept per client, one per distinct path


def _is_session_cookie(name: str) -> bool:
    lowered = name.strip().lower()
    return is_sensitive_name(lowered) or any(
        word in lowered for word in ("session", "sid", "token", "auth"))


class HttpClient:
    """An httpx.AsyncClient with the hub's retry, error and audit policy around each call."""

    def __init__(
        self,
        *,
        base_url: str,
        connector: str,
        connection: str,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        on_call: CallHook | None = None,
        redactor: Redactor | None = None,
        check_response: ResponseCheck | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 20,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        budget: RateBudget | None = None,
        cookies: bool = True,
    ) -> None:
        """`cookies=False`: the client keeps no cookies between calls (the auth flow sends
        the session itself); Set-Cookie values are still registered as credentials."""
        self.connector = connector
        self.connection = connection
        self.retry = retry or RetryPolicy()
        self.redactor = redactor or Redactor()
        self._on_call = on_call
        self._check_response = check_response
        self._sleep = sleep
        self._budget = budget
        self.stats = SendStats()
        self._client = httpx.AsyncClient(
            base_url=base_url,
            verify=_ssl_context(),
            auth=auth,
            headers=dict(headers or {}),
            timeout=timeout,
            transport=transport,
            cookies=None if cookies else _NoCookies(),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )
        self._urls: dict[str, httpx.URL] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    def _url(self, path: str) -> httpx.URL:
        """The absolute URL of a path under the base URL, merged once per path: httpx merges
        and parses it anew on every request otherwise."""
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= _MAX_URLS:
                self._urls.clear()
            url = self._urls[path] = self._client.build_request("GET", path).url
        return url

    async def send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        retry_safe: bool | None = None,
    ) -> httpx.Response:
        """Send one request, retrying what is safe to retry, and return the 2xx response.

        Reads, idempotent methods and writes that carry an idempotency key are retried on
        transport errors, 429 and 5xx. Other writes are retried only when the request provably
        never reached the server (connection refused, 429); a lost response raises
        OutcomeUnknownError so the caller can ask the vendor what happened.

        `retry_safe` overrides that judgement for APIs that read through POST (Kingdee's
        ExecuteBillQuery: True) or whose GET changes state (False).
        """
        method = method.upper()
        if retry_safe is None:
            retry_safe = method in _SAFE_METHODS or idempotency_key is not None
        request = self._client.build_request(
            method, self._url(path), params=params, json=json, headers=headers
        )
        shown_url = self.redactor.url(str(request.url))
        context = {
            "connector": self.connector, "connection": self.connection, "operation": operation
        }

        def should_retry(error: BaseException) -> bool:
            if isinstance(error, RateLimitedError):
                return True
            if isinstance(error, TransientError):
                return retry_safe or error.never_sent
            return False

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self._wait,
            retry=retry_if_exception(should_retry),
            sleep=self._sleep,
            reraise=True,
        )
        if not tracing_on():
            return await self._send(retrying, request, operation=operation,
                                    shown_url=shown_url, retry_safe=retry_safe, context=context)
        with vendor_span(self.connector, self.connection, operation, method):
            return await self._send(retrying, request, operation=operation,
                                    shown_url=shown_url, retry_safe=retry_safe, context=context)

    async def _send(self, retrying: AsyncRetrying, request: httpx.Request, *, operation: str,
                    shown_url: str, retry_safe: bool, context: dict[str, Any]
                    ) -> httpx.Response:
        async for attempt in retrying:
            with attempt:
                return await self._attempt(
                    request, number=attempt.retry_state.attempt_number, operation=operation,
                    shown_url=shown_url, retry_safe=retry_safe, context=context)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _attempt(
        self, request: httpx.Request, *, number: int, operation: str, shown_url: str,
        retry_safe: bool, context: dict[str, Any],
    ) -> httpx.Response:
        """One attempt: wait for the rate budget, send, record the call; raise a refusal."""
        if self._budget is not None:
            self.stats.budget_wait_s += await self._budget.acquire()
        self.stats.attempts += 1
        self.stats.retries += number > 1
        started = time.perf_counter()
        try:
            response = await self._client.send(request)
        except httpx.TransportError as exc:
            lost = self._transport_error(exc, retry_safe=retry_safe, context=context)
            self._record(request.method, shown_url, operation, None, number, started, lost)
            if isinstance(lost, TransientError) and lost.never_sent:
                await self._refund()
            raise lost from None
        except ConnectorError as exc:  # raised by the auth flow, e.g. a token fetch
            # The call itself was not applied (not sent, or refused for its token): a
            # transient failure may be sent again, and the audit row names what failed.
            if isinstance(exc, TransientError):
                exc.never_sent = True
            self._record(request.method, shown_url, exc.operation or operation, exc.status,
                         number, started, exc)
            await self._refund()
            raise
        if response.status_code >= 500:  # ASSUMED a gateway's: the vendor's API never saw it
            await self._refund()
        self._remember_cookies(response)
        refused = self._classify(response, context)
        self._record(request.method, shown_url, operation, response.status_code, number,
                     started, refused)
        if refused is not None:
            raise refused
        return response

    async def _refund(self) -> None:
        """An attempt that never reached the vendor's API gives its budget slot back."""
        if self._budget is not None:
            await self._budget.refund()

    def _remember_cookies(self, response: httpx.Response) -> None:
        """Cookies a vendor sets are session credentials: every Redactor masks them."""
        pairs = [header.split(";", 1)[0].partition("=")
                 for header in response.headers.get_list("set-cookie")]
        values = [value.strip() for name, _, value in pairs if _is_session_cookie(name)]
        if values:
            register_credential(*values, slot=f"cookie:{self.connector}:{self.connection}")

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return float(min(error.retry_after, self.retry.max_retry_after))
        # Exponential backoff with full jitter on top, so retrying clients spread out.
        step = self.retry.backoff_initial * float(2 ** (state.attempt_number - 1))
        return min(self.retry.backoff_max, step) + random.uniform(0, self.retry.backoff_initial)

    def _transport_error(
        self, exc: httpx.TransportError, *, retry_safe: bool, context: dict[str, Any]
    ) -> ConnectorError:
        reason = self.redactor.text(f"{type(exc).__name__}: {exc}".rstrip(": "))
        if isinstance(exc, _NEVER_SENT):
            return TransientError(f"could not connect ({reason})", never_sent=True, **context)
        if retry_safe:
            return TransientError(f"request failed ({reason})", **context)
        return OutcomeUnknownError(
            f"the response to a write was lost ({reason}); it may or may not have been applied",
            **context,
        )

    def _classify(self, response: httpx.Response, context: dict[str, Any]) -> ConnectorError | None:
        status = response.status_code
        if status < 400:
            error = self._check_response(response) if self._check_response else None
            if error is not None:  # a vendor check knows the code, the client knows the call
                error.connector = error.connector or context["connector"]
                error.connection = error.connection or context["connection"]
                error.operation = error.operation or context["operation"]
            return error
        code, message = _vendor_error(response)
        message = self.redactor.text(message)
        if status == 429:
            return RateLimitedError(
                message, retry_after=parse_retry_after(response.headers.get("Retry-After")),
                status=status, vendor_code=code, **context,
            )
        if status >= 500:
            return TransientError(message, status=status, vendor_code=code, **context)
        if status in (401, 403):
            return AuthError(message, status=status, vendor_code=code, **context)
        if status == 404:
            return NotFoundError(message, status=status, vendor_code=code, **context)
        return RejectedError(message, status=status, vendor_code=code, **context)

    def _record(
        self, method: str, url: str, operation: str, status: int | None, attempt: int,
        started: float, error: ConnectorError | None,
    ) -> None:
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        outcome = "ok" if error is None else error.kind
        if tracing_on():
            record_attempt(status=status, attempt=attempt, outcome=outcome)
        log.debug("%s %s %s -> %s in %.1f ms (attempt %d)", operation, method, url,
                  status if status is not None else outcome, duration_ms, attempt)
        if self._on_call is not None:
            self._on_call(CallRecord(
                connector=self.connector, connection=self.connection, operation=operation,
                method=method, url=url, status=status, attempt=attempt, duration_ms=duration_ms,
                outcome=outcome, error=None if error is None else str(error),
            ))
