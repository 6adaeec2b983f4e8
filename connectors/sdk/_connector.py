"""The Connector base class every plugin subclasses."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Self, TypeVar

import httpx

from ._budget import PROCESS_BUDGETS, BudgetStore, RateBudget, RateLimit
from ._config import ConnectorConfig
from ._errors import AuthError, ConfigError, ConnectorError
from ._http import CallHook, HttpClient, ResponseCheck, RetryPolicy
from ._redact import Redactor, install_log_redaction, secret_values
from ._streams import Batch, Stream

__all__ = ["CheckResult", "Connector"]

ConfigT = TypeVar("ConfigT", bound=ConnectorConfig)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What `check()` found, step by step, and how long the probe took.

    Attributes:
        reachable: the system answered at all.
        authenticated: it accepted the credentials.
        permitted: the credentials may do what the connection is configured for.
        latency_ms: the probe's round trip.
        detail: why a step failed, redacted.
    """

    reachable: bool
    authenticated: bool
    permitted: bool = True
    latency_ms: float | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.reachable and self.authenticated and self.permitted

    @classmethod
    async def probe(cls, call: Callable[[], Awaitable[object]]) -> CheckResult:
        """Run one representative call and classify its outcome."""
        started = time.perf_counter()
        try:
            await call()
        except AuthError as exc:
            forbidden = exc.status == 403
            return cls(reachable=True, authenticated=forbidden, permitted=False,
                       detail=str(exc))
        except ConnectorError as exc:
            reached = exc.status is not None
            return cls(reachable=reached, authenticated=False, permitted=False,
                       detail=str(exc))
        latency = round((time.perf_counter() - started) * 1000, 1)
        return cls(reachable=True, authenticated=True, latency_ms=latency)


class Connector(ABC, Generic[ConfigT]):
    """A client of one external system, configured for one connection.

    Subclasses set `name`, `Config` and `streams`, and implement `check()`. Hooks:
    `auth()` returns the httpx.Auth to sign every request with; `check_response()` turns a
    2xx response that carries a vendor error into a ConnectorError.

    Attributes:
        name: the registry name (`type:` in a connection).
        Config: the pydantic model of the connection's `config:` block.
        streams: stream classes by name.
        default_rate_limit: the vendor's documented limit, used when the connection's config
            sets no `rate_limit`.
        keeps_cookies: False when the auth flow puts the session on every request itself,
            so the HTTP client keeps no cookie jar.
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""
    Config: ClassVar[type[ConnectorConfig]]
    streams: ClassVar[Mapping[str, type[Stream]]] = {}
    default_rate_limit: ClassVar[RateLimit | None] = None
    keeps_cookies: ClassVar[bool] = True

    def __init__(
        self,
        config: ConfigT,
        *,
        connection: str | None = None,
        on_call: CallHook | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        budget_store: BudgetStore | None = None,
    ) -> None:
        self.config = config
        self.connection = connection or self.name
        secrets = secret_values(config)
        self.redactor = Redactor(secrets)
        install_log_redaction(*secrets)
        self._on_call = on_call
        self._transport = transport
        self._budget_store = budget_store or PROCESS_BUDGETS
        self._http: HttpClient | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **kwargs: Any) -> Self:
        return cls(cls.Config.model_validate(data), **kwargs)  # type: ignore[arg-type]

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            self._http = HttpClient(
                base_url=self.config.base_url,
                connector=self.name,
                connection=self.connection,
                auth=self.auth(),
                timeout=self.config.timeout,
                retry=RetryPolicy(
                    attempts=self.config.max_attempts,
                    max_retry_after=self.config.max_retry_after,
                ),
                on_call=self._on_call,
                redactor=self.redactor,
                check_response=self.check_response,
                transport=self._transport,
                max_connections=self.config.max_connections,
                budget=self.budget(),
                cookies=self.keeps_cookies,
            )
        return self._http

    def budget(self) -> RateBudget | None:
        """The connection's rate budget, or None when neither config nor vendor sets one."""
        limit = self.config.rate_limit or self.default_rate_limit
        if limit is None:
            return None
        return RateBudget(f"{self.name}:{self.connection}", limit, self._budget_store)

    def auth(self) -> httpx.Auth | None:
        """Hook: the httpx.Auth that signs every request (None: no auth)."""
        return None

    check_response: ResponseCheck | None = None

    @abstractmethod
    async def check(self) -> CheckResult:
        """Probe the system: is it reachable, and do the credentials work?"""

    @classmethod
    def stream_names(cls, config: ConfigT) -> list[str]:  # noqa: ARG003 -- a hook's signature
        """Hook: the streams a connection with `config` offers (declarative connectors
        build theirs from the config)."""
        return sorted(cls.streams)

    def stream(self, name: str) -> Stream:
        try:
            stream_class = self.streams[name]
        except KeyError:
            known = ", ".join(sorted(self.streams)) or "none"
            raise ConfigError(
                f"no stream '{name}'; this connector has: {known}",
                connector=self.name, connection=self.connection,
            ) from None
        return stream_class(self)

    def read(self, stream: str, *, state: str | None = None) -> AsyncIterator[Batch]:
        """Batches of `stream` after `state`, oldest first."""
        return self.stream(stream).batches(state)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} connection={self.connection!r}>"
