"""The conformance-suite factory: a plugin's whole behavioural test suite in a dozen lines."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Mapping
from typing import Any, ClassVar, Literal

import pytest
from starlette.types import ASGIApp

from .._connector import Connector
from ._checks import (
    check_bad_credentials,
    check_check_ok,
    check_dropped_connection_retried,
    check_incremental,
    check_paging,
    check_rate_limited_retried,
    check_retry_after_capped,
    check_server_errors_retried,
    check_spec,
    check_token_refresh,
)
from ._harness import SandboxHarness, SuiteSpec
from ._leaks import check_no_secrets

__all__ = ["ConformanceTests", "ConnectorSuite"]


def _run(check: Coroutine[Any, Any, None]) -> None:
    # Each test runs its own event loop, so the suite needs no async plugin in the plugin's
    # test setup; the sandbox has its own loop in the server thread.
    asyncio.run(check)


class ConformanceTests:
    """The tests every connector passes; ConnectorSuite.build subclasses this with a spec.

    Each test gets a fresh sandbox on a free loopback port, wrapped in a FaultInjector (the
    `conformance` fixture, a SandboxHarness). Subclass the built class to add tests that use
    the same fixture.
    """

    spec: ClassVar[SuiteSpec]

    @pytest.fixture
    def conformance(self) -> Iterator[SandboxHarness]:
        with SandboxHarness.serve(self.spec) as harness:
            yield harness

    def test_spec__config_schema_has_base_url_and_hides_secrets(self) -> None:
        check_spec(self.spec)

    def test_check__ok_with_the_good_config(self, conformance: SandboxHarness) -> None:
        _run(check_check_ok(conformance))

    def test_read__pages_to_the_end_without_duplicates_or_gaps(
        self, conformance: SandboxHarness
    ) -> None:
        if self.spec.stream is None:
            pytest.skip("no stream: the suite exercises the connector's operation instead")
        _run(check_paging(conformance))

    def test_read__resumes_from_state_with_the_change_only(
        self, conformance: SandboxHarness
    ) -> None:
        if self.spec.stream is None:
            pytest.skip("no stream: the suite exercises the connector's operation instead")
        if self.spec.mutate is None:
            pytest.skip("no mutate= given: the suite cannot change a record in the sandbox")
        if not self.spec.connector.streams[self.spec.stream].replication_key:
            pytest.skip(f"stream {self.spec.stream!r} has no replication_key: not incremental")
        _run(check_incremental(conformance))

    def test_auth__bad_credentials_raise_a_clear_auth_error(
        self, conformance: SandboxHarness
    ) -> None:
        if self.spec.bad_config is None:
            pytest.skip("no bad_config= given")
        _run(check_bad_credentials(conformance))

    def test_retry__429_waits_for_retry_after(self, conformance: SandboxHarness) -> None:
        _run(check_rate_limited_retried(conformance))

    def test_retry__retry_after_is_capped(self, conformance: SandboxHarness) -> None:
        _run(check_retry_after_capped(conformance))

    def test_retry__5xx_is_retried(self, conformance: SandboxHarness) -> None:
        _run(check_server_errors_retried(conformance))

    def test_retry__dropped_connection_is_retried(self, conformance: SandboxHarness) -> None:
        _run(check_dropped_connection_retried(conformance))

    def test_auth__expired_token_is_refreshed_once(self, conformance: SandboxHarness) -> None:
        if self.spec.expire_tokens is None:
            pytest.skip("no expire_tokens= given: the sandbox has no token lifetimes")
        _run(check_token_refresh(conformance))

    def test_secrets__never_in_logs_call_records_errors_or_reprs(
        self, conformance: SandboxHarness
    ) -> None:
        _run(check_no_secrets(conformance))


ConfigFactory = Callable[[str], Mapping[str, Any]]


class ConnectorSuite:
    """Builds the conformance test class for one connector and its sandbox."""

    @staticmethod
    def build(
        *,
        connector: type[Connector[Any]],
        sandbox: Callable[[], ASGIApp],
        config: ConfigFactory,
        stream: str | None = None,
        operation: Callable[[Connector[Any]], Awaitable[object]] | None = None,
        operation_path: str | None = None,
        bad_config: ConfigFactory | None = None,
        mutate: Callable[[Any, str], object] | None = None,
        expected_keys: Callable[[Any], Iterable[str]] | None = None,
        expire_tokens: Callable[[Any], object] | None = None,
        token_path: str | None = None,
        sandbox_secrets: Callable[[Any], Iterable[str]] | None = None,
        lifespan: Literal["on", "off"] = "off",
        name: str | None = None,
    ) -> type[ConformanceTests]:
        """A pytest test class; assign it to a `Test...` name in a test module.

        Args:
            connector: the Connector subclass under test.
            sandbox: builds a fresh ASGI app of the vendor API (called once per test).
            config: the connection's config dict for a base URL; its page size must be small
                enough that the stream takes several requests.
            stream: the stream the read tests use.
            operation: for a connector without streams (a messenger), instead of `stream`:
                `await operation(connector)` makes one representative request, which the
                retry, auth and secrets tests use; the paging tests are skipped. A POST
                operation must be safe to retry (a read, or sent with an idempotency key).
            operation_path: the URL path (after base_url's) of the operation's request, at
                which faults are aimed.
            bad_config: a config whose credentials the sandbox refuses (skipped if None).
            mutate: `mutate(app, record_key)` changes that record in the sandbox so the next
                incremental read must return it (skipped if None).
            expected_keys: `expected_keys(app)` lists every primary key the stream holds, so
                the paging test can find gaps, not only duplicates.
            expire_tokens: `expire_tokens(app)` makes the sandbox refuse every issued token
                (skipped if None; needs `token_path`).
            token_path: the URL path prefix of the sandbox's token endpoint.
            sandbox_secrets: `sandbox_secrets(app)` lists more values that must never be
                shown, such as the tokens the sandbox issued.
            lifespan: "on" runs the sandbox app's start-up and shut-down events.
            name: the class name (default `Test<Connector>Conformance`).
        """
        _check_choices(stream=stream, operation=operation, expire_tokens=expire_tokens,
                       token_path=token_path)
        spec = SuiteSpec(
            connector=connector, sandbox=sandbox, config=config, stream=stream,
            bad_config=bad_config, mutate=mutate, expected_keys=expected_keys,
            expire_tokens=expire_tokens, token_path=token_path, sandbox_secrets=sandbox_secrets,
            lifespan=lifespan, operation=operation, operation_path=operation_path,
        )
        class_name = name or f"Test{connector.__name__}Conformance"
        built = type(class_name, (ConformanceTests,), {"spec": spec, "__doc__": (
            f"Conformance of {connector.__name__} on its sandbox, "
            + (f"stream {stream!r}." if stream is not None else "an operation."))})
        return built


def _check_choices(*, stream: str | None, operation: object, expire_tokens: object,
                   token_path: str | None) -> None:
    """Refuse a suite built with options that exclude or need each other."""
    if (stream is None) == (operation is None):
        raise TypeError("give either stream= or operation= (a connector without streams)")
    if expire_tokens is not None and token_path is None:
        raise TypeError("expire_tokens needs token_path: the token fetches are counted "
                        "from the sandbox's request log by that path")
