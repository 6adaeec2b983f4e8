"""A connector's sandbox served on loopback behind a FaultInjector, and helpers to read it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from starlette.types import ASGIApp

from .._config import ConnectorConfig
from .._connector import Connector
from .._http import CallRecord
from .._redact import secret_values
from .._streams import Batch
from ..sandbox import serve
from ._fault_types import LoggedRequest
from ._faults import FaultInjector

__all__ = ["ReadResult", "SandboxHarness", "SuiteSpec", "capture_logs"]

ConfigFactory = Callable[[str], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class SuiteSpec:
    """What ConnectorSuite.build was told; see its docstring for each field."""

    connector: type[Connector[Any]]
    sandbox: Callable[[], ASGIApp]
    config: ConfigFactory
    stream: str | None = None
    bad_config: ConfigFactory | None = None
    mutate: Callable[[Any, str], object] | None = None
    expected_keys: Callable[[Any], Iterable[str]] | None = None
    expire_tokens: Callable[[Any], object] | None = None
    token_path: str | None = None
    sandbox_secrets: Callable[[Any], Iterable[str]] | None = None
    lifespan: Literal["on", "off"] = "off"
    operation: Callable[[Connector[Any]], Awaitable[object]] | None = None
    operation_path: str | None = None


@dataclass(slots=True)
class ReadResult:
    """Every record of one read, the last state, and how many batches it took."""

    records: list[dict[str, Any]] = field(default_factory=list)
    state: str | None = None
    batches: int = 0


class SandboxHarness:
    """One running sandbox, wrapped in a FaultInjector, and connectors configured for it.

    The conformance suite hands one to each test as the `conformance` fixture; a plugin's own
    extra tests in the same class can use it too.

    Attributes:
        spec: the suite's spec.
        app: the sandbox app as the factory built it (what `mutate` and friends receive).
        faults: the FaultInjector in front of it (its request log is the suite's evidence).
        url: the base URL it is served at.
        connection: the connection name connectors are built with.
    """

    connection = "conformance"

    def __init__(self, spec: SuiteSpec, app: Any, faults: FaultInjector, url: str) -> None:
        self.spec, self.app, self.faults, self.url = spec, app, faults, url

    @classmethod
    @contextmanager
    def serve(cls, spec: SuiteSpec) -> Iterator[SandboxHarness]:
        """Build the sandbox, wrap it, serve it on a free loopback port."""
        app = spec.sandbox()
        faults = FaultInjector(app)
        with serve(faults, lifespan=spec.lifespan) as url:
            yield cls(spec, app, faults, url)

    def config(self, *, bad: bool = False, **overrides: Any) -> dict[str, Any]:
        """The config dict for this sandbox (`bad`: the bad-credentials one), plus overrides."""
        factory = self.spec.bad_config if bad else self.spec.config
        if factory is None:
            raise LookupError("the suite was given no bad_config")
        return {**factory(self.url), **overrides}

    def connector(
        self, *, bad: bool = False, calls: list[CallRecord] | None = None, **overrides: Any
    ) -> Connector[Any]:
        """A connector on the sandbox; its CallRecords go to `calls` when given."""
        return self.spec.connector.from_dict(
            self.config(bad=bad, **overrides), connection=self.connection,
            on_call=None if calls is None else calls.append,
        )

    @property
    def stream_path(self) -> str:
        """The URL path prefix of the stream's requests, for aiming faults at them."""
        base = urlsplit(str(self.config()["base_url"])).path.rstrip("/")
        if self.spec.stream is None:  # a connector without streams: its operation's path
            return base + (self.spec.operation_path or "")
        path = getattr(self.spec.connector.streams[self.spec.stream], "path", "") or ""
        if "{" in path:  # a templated path: aim at everything under the base
            path = ""
        return base + path

    @property
    def primary_key(self) -> str:
        assert self.spec.stream is not None
        return self.spec.connector.streams[self.spec.stream].primary_key

    def config_model(self, **overrides: Any) -> ConnectorConfig:
        return self.spec.connector.Config.model_validate(self.config(**overrides))

    def secrets(self) -> set[str]:
        """Every value that must never be shown: config secrets, good and bad, and extras."""
        found = set(secret_values(self.config_model()))
        if self.spec.bad_config is not None:
            bad = self.spec.connector.Config.model_validate(self.config(bad=True))
            found |= set(secret_values(bad))
        if self.spec.sandbox_secrets is not None:
            found |= set(self.spec.sandbox_secrets(self.app))
        return {s for s in found if s}

    def requests(self, since: int = 0) -> list[LoggedRequest]:
        """The injector's log from position `since`."""
        return self.faults.requests()[since:]

    def stream_requests(self, since: int = 0) -> list[LoggedRequest]:
        return [r for r in self.requests(since) if r.path.startswith(self.stream_path)]

    async def exercise(self, connector: Connector[Any]) -> object:
        """One representative call: the stream's first batch, or the suite's `operation`
        for a connector without streams."""
        if self.spec.stream is None:
            assert self.spec.operation is not None
            return await self.spec.operation(connector)
        return await self.first_batch(connector)

    async def read_all(self, connector: Connector[Any], state: str | None = None) -> ReadResult:
        """Read the suite's stream to the end from `state`."""
        assert self.spec.stream is not None
        result = ReadResult(state=state)
        async for batch in connector.read(self.spec.stream, state=state):
            result.records.extend(batch.records)
            result.state = batch.state
            result.batches += 1
        return result

    async def first_batch(self, connector: Connector[Any], state: str | None = None) -> Batch:
        """The stream's first batch only (the rest is never requested)."""
        assert self.spec.stream is not None
        batches = connector.read(self.spec.stream, state=state)
        try:
            async for batch in batches:
                return batch
        finally:
            close = getattr(batches, "aclose", None)
            if close is not None:
                await close()
        raise AssertionError(f"stream {self.spec.stream!r} yielded no batch at all")


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def capture_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record of every logger at DEBUG and above while the block runs."""
    collector = _Collector()
    root, ours = logging.getLogger(), logging.getLogger("connectors")
    levels = root.level, ours.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    ours.setLevel(logging.DEBUG)  # in case an app configured the SDK's loggers quieter
    try:
        yield collector.records
    finally:
        root.removeHandler(collector)
        root.setLevel(levels[0])
        ours.setLevel(levels[1])
