"""The conformance suite: green for a good toy connector, and each check catches its fault."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from connectors.sdk import (
    AuthError,
    Batch,
    CheckResult,
    Connector,
    ConnectorConfig,
    ConnectorError,
    Stream,
)
from connectors.sdk.auth import ApiKeyAuth
from connectors.sdk.testing import ConnectorSuite, SandboxHarness, SuiteSpec
from connectors.sdk.testing._checks import (
    check_bad_credentials,
    check_incremental,
    check_paging,
    check_server_errors_retried,
    check_spec,
    check_token_refresh,
)
from connectors.sdk.testing._leaks import check_no_secrets

KEY = "toy-key-6a1f93d0"


# -- a toy vendor: items paged by page number, API key or short-lived bearer tokens ------------

def create_toy(*, items: int = 30, tokens: bool = False) -> FastAPI:
    app = FastAPI()
    app.state.items = {f"I{n:03d}": n * 10 for n in range(1, items + 1)}  # id -> updated
    app.state.tokens = set()  # live tokens
    app.state.issued = []  # every token ever issued, for the leak check

    def authorised(request: Request) -> bool:
        if not tokens:
            return request.headers.get("x-api-key") == KEY
        return request.headers.get("authorization", "")[7:] in app.state.tokens

    @app.post("/oauth/token")
    async def token(request: Request) -> JSONResponse:
        if request.headers.get("x-api-key") != KEY:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        value = f"tk-{secrets.token_hex(8)}"
        app.state.tokens.add(value)
        app.state.issued.append(value)
        return JSONResponse({"access_token": value, "expires_in": 3600})

    @app.get("/api/items")
    async def list_items(request: Request, page: int = 1, per_page: int = 10,
                         since: int = -1) -> JSONResponse:
        if not authorised(request):
            error = {"code": "unauthorized", "message": "credentials refused"}
            return JSONResponse({"error": error}, status_code=401)
        rows = sorted((u, i) for i, u in app.state.items.items() if u > since)
        chunk = rows[(page - 1) * per_page: page * per_page]
        return JSONResponse({"items": [{"id": i, "updated": u} for u, i in chunk],
                             "has_more": page * per_page < len(rows)})

    return app


def touch(app: Any, item_id: str) -> None:
    app.state.items[item_id] = max(app.state.items.values()) + 1


def expire(app: Any) -> None:
    app.state.tokens.clear()


class ToyConfig(ConnectorConfig):
    api_key: SecretStr
    page_size: int = 10


class ItemsStream(Stream):
    name = "items"
    path = "/api/items"
    replication_key = "updated"
    overlap = 0  # > 0: each page re-reads the previous page's last records
    first_page_only = False
    use_state = True

    async def batches(self, state: str | None) -> AsyncIterator[Batch]:
        connector: ToyConnector = self.connector  # type: ignore[assignment]
        size, page, since = connector.config.page_size, 1, state
        while True:
            params: dict[str, Any] = {"page": page, "per_page": size}
            if since is not None and self.use_state:
                params["since"] = since
            body = (await connector.http.send("GET", self.path, operation="items.list",
                                              params=params)).json()
            items = body["items"]
            if self.overlap and page > 1:
                previous = {**params, "page": page - 1}
                back = (await connector.http.send("GET", self.path, operation="items.list",
                                                  params=previous)).json()["items"]
                items = back[-self.overlap:] + items
            if items:
                state = str(max(int(state or -1), *(r["updated"] for r in items)))
            yield Batch(records=items, state=state)
            if not body["has_more"] or self.first_page_only:
                return
            page += 1


class ToyConnector(Connector[ToyConfig]):
    name = "toy"
    Config = ToyConfig
    streams: ClassVar[dict[str, type[Stream]]] = {"items": ItemsStream}

    def auth(self) -> httpx.Auth:
        return ApiKeyAuth(self.config.api_key)

    async def check(self) -> CheckResult:
        try:
            await self.http.send("GET", "/api/items", operation="check", params={"per_page": 1})
        except AuthError as exc:
            return CheckResult(reachable=True, authenticated=False, detail=str(exc))
        except ConnectorError as exc:
            return CheckResult(reachable=False, authenticated=False, detail=str(exc))
        return CheckResult(reachable=True, authenticated=True)


class TokenAuth(httpx.Auth):
    """Bearer tokens from /oauth/token; on 401 fetches a new one, single-flight unless naive."""

    def __init__(self, connector: TokenConnector, *, naive: bool = False) -> None:
        self.connector, self.naive = connector, naive
        self.token: str | None = None
        self.lock = asyncio.Lock()

    async def fresh(self, stale: str | None) -> str:
        if self.naive:
            return await self.fetch()
        async with self.lock:
            if self.token is None or self.token == stale:
                self.token = await self.fetch()
            return self.token

    async def fetch(self) -> str:
        base = self.connector.config.base_url
        key = self.connector.config.api_key.get_secret_value()
        async with httpx.AsyncClient(base_url=base) as client:
            response = await client.post("/oauth/token", headers={"X-API-Key": key})
        if response.status_code == 401:
            raise AuthError("client credentials refused", connection=self.connector.connection,
                            status=401)
        token: str = response.json()["access_token"]
        return token

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        used = self.token or await self.fresh(None)
        request.headers["Authorization"] = f"Bearer {used}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {await self.fresh(used)}"
            yield request


class TokenConnector(ToyConnector):
    naive = False

    def auth(self) -> httpx.Auth:
        return TokenAuth(self, naive=self.naive)


# -- the suite is green for the good connectors: pytest collects these two classes -----------

TestToyConformance = ConnectorSuite.build(
    connector=ToyConnector,
    sandbox=create_toy,
    config=lambda url: {"base_url": url, "api_key": KEY},
    bad_config=lambda url: {"base_url": url, "api_key": "not-the-key"},
    stream="items",
    mutate=touch,
    expected_keys=lambda app: app.state.items,
)

TestToyWithTokensConformance = ConnectorSuite.build(
    connector=TokenConnector,
    sandbox=lambda: create_toy(tokens=True),
    config=lambda url: {"base_url": url, "api_key": KEY, "max_retry_after": 5},
    bad_config=lambda url: {"base_url": url, "api_key": "not-the-key"},
    stream="items",
    mutate=touch,
    expire_tokens=expire,
    token_path="/oauth/token",
    sandbox_secrets=lambda app: app.state.issued,
    name="TestTokens",
)


# -- each check fails, saying what to fix, when its fault is there ----------------------------

def spec(connector: type[Connector[Any]] = ToyConnector, **changes: Any) -> SuiteSpec:
    base: dict[str, Any] = {
        "connector": connector, "sandbox": create_toy,
        "config": lambda url: {"base_url": url, "api_key": KEY},
        "bad_config": lambda url: {"base_url": url, "api_key": "not-the-key"},
        "stream": "items", "mutate": touch, "expected_keys": lambda app: app.state.items,
    }
    return SuiteSpec(**(base | changes))


def failure(check: Callable[[SandboxHarness], Coroutine[Any, Any, None]], suite: SuiteSpec
            ) -> str:
    with SandboxHarness.serve(suite) as harness, pytest.raises(AssertionError) as caught:
        asyncio.run(check(harness))
    return str(caught.value)


def with_stream(stream: type[Stream]) -> type[ToyConnector]:
    return type("VariantConnector", (ToyConnector,), {"streams": {"items": stream}})


def variant(**stream_attrs: Any) -> type[ToyConnector]:
    return with_stream(type("VariantStream", (ItemsStream,), stream_attrs))


class SwallowsAuthStream(ItemsStream):
    async def batches(self, state: str | None) -> AsyncIterator[Batch]:
        try:
            async for batch in super().batches(state):
                yield batch
        except AuthError:
            return


class LogsKeyConnector(ToyConnector):
    def auth(self) -> httpx.Auth:
        logging.getLogger("toy").debug("signing with %s", self.config.api_key.get_secret_value())
        return super().auth()


class ShowsKeyConnector(ToyConnector):
    async def check(self) -> CheckResult:
        key = self.config.api_key.get_secret_value()
        return CheckResult(reachable=True, authenticated=True, detail=f"used key {key}")


class NaiveTokenConnector(TokenConnector):
    naive = True


TOKENS = {"sandbox": lambda: create_toy(tokens=True), "expire_tokens": expire,
          "token_path": "/oauth/token"}


@pytest.mark.parametrize(("check", "suite", "message"), [
    (check_paging, spec(variant(first_page_only=True)),
     "20 of 30 records were never read (paging skips)"),
    (check_paging, spec(variant(overlap=2)), "records came more than once (paging overlaps)"),
    (check_paging, spec(config=lambda url: {"base_url": url, "api_key": KEY, "page_size": 99}),
     "the whole stream came in 1 request(s), so paging was not exercised"),
    (check_incremental, spec(variant(use_state=False)),
     "returned 30 records, as many as a full read: the state is ignored"),
    (check_bad_credentials, spec(with_stream(SwallowsAuthStream)),
     "reading with the bad config succeeded"),
    (check_server_errors_retried,
     spec(config=lambda url: {"base_url": url, "api_key": KEY, "max_attempts": 1}),
     "the config sets max_attempts=1: nothing is ever retried"),
    (check_no_secrets, spec(LogsKeyConnector),
     "a secret value appears in the log record of 'toy': signing with <SECRET>"),
    (check_no_secrets, spec(ShowsKeyConnector),
     "a secret value appears in the check() result"),
    (check_token_refresh, spec(NaiveTokenConnector, **TOKENS),
     "5 concurrent reads after expiry caused 5 token fetches; expected exactly one"),
], ids=["gap", "overlap", "one-page", "state-ignored", "auth-swallowed", "no-retries",
        "key-logged", "key-in-check", "token-stampede"])
def test_check__catches_the_fault_and_says_what_to_fix(
    check: Callable[[SandboxHarness], Coroutine[Any, Any, None]], suite: SuiteSpec, message: str
) -> None:
    assert message in failure(check, suite)


class PlainKeyConfig(ConnectorConfig):
    api_key: str
    page_size: int = 10


class NestedAuth(ConnectorConfig):
    client_secret: str | None = None


class NestedConfig(ToyConfig):
    oauth: NestedAuth | None = None


@pytest.mark.parametrize(("attrs", "message"), [
    ({"Config": PlainKeyConfig}, "PlainKeyConfig.api_key looks like a secret but is not"),
    ({"Config": NestedConfig}, "NestedAuth.client_secret looks like a secret but is not"),
    ({"name": "Toy-2"}, "VariantConnector.name must be a lowercase identifier, not 'Toy-2'"),
    ({"streams": {}}, "VariantConnector has no stream 'items'; it has: []"),
])
def test_check_spec__catches_a_bad_declaration(attrs: dict[str, Any], message: str) -> None:
    connector = type("VariantConnector", (ToyConnector,), attrs)
    with pytest.raises(AssertionError) as caught:
        check_spec(spec(connector))
    assert message in str(caught.value)


def test_build__names_the_class_and_skips_what_it_was_not_given() -> None:
    built = ConnectorSuite.build(connector=ToyConnector, sandbox=create_toy,
                                 config=lambda url: {"base_url": url, "api_key": KEY},
                                 stream="items")
    assert built.__name__ == "TestToyConnectorConformance"
    tests = built()
    for method, reason in [
        (tests.test_read__resumes_from_state_with_the_change_only, "no mutate= given"),
        (tests.test_auth__bad_credentials_raise_a_clear_auth_error, "no bad_config= given"),
        (tests.test_auth__expired_token_is_refreshed_once, "no expire_tokens= given"),
    ]:
        with pytest.raises(pytest.skip.Exception, match=reason):
            method(None)  # type: ignore[arg-type]


def test_build__expire_tokens_without_token_path_is_refused() -> None:
    with pytest.raises(TypeError, match="expire_tokens needs token_path"):
        ConnectorSuite.build(connector=ToyConnector, sandbox=create_toy,
                             config=lambda url: {"base_url": url}, stream="items",
                             expire_tokens=expire)
