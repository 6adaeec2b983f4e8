"""Vendor tokens end to end: TokenAuth against the token sandbox over loopback.

Every count comes from the sandbox's own `/_sandbox/stats`, never from timing.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.sdk import AuthError, HttpClient, RetryPolicy, TransientError, json_body
from connectors.sdk.auth import CachedToken, MemoryTokenCache, TokenAuth, TokenProvider
from connectors.sdk.sandbox import serve
from connectors.sdk.testing.token_sandbox import create_token_sandbox

APP_KEY = "dingappkey0001"
APP_SECRET = "ding-app-secret-9f8e7d6c5b4a"
KEY = f"dingtalk:{APP_KEY}"
# DingTalk's "refresh and retry once" rule (dingtalk.md §2), legacy API.
_REFRESH_CODES = {40014, 42001, 40001}


class GetTokenProvider(TokenProvider):
    """A DingTalk-legacy-style provider, written the way a connector author would."""

    query = "access_token"

    def __init__(self, base_url: str, app_key: str, app_secret: SecretStr,
                 clock: Callable[[], float] = time.time) -> None:
        self.base_url, self.app_key, self.app_secret = base_url, app_key, app_secret
        self.clock = clock

    async def fetch(self, client: httpx.AsyncClient) -> CachedToken:
        response = await self.request_token(client, "GET", f"{self.base_url}/gettoken", params={
            "appkey": self.app_key, "appsecret": self.app_secret.get_secret_value()})
        body = json_body(response) or {}
        if body.get("errcode") != 0:
            raise self.refused(body.get("errmsg"), vendor_code=body.get("errcode"))
        return CachedToken.issue(body["access_token"], expires_in=body["expires_in"],
                                 now=self.clock())

    def is_token_invalid(self, response: httpx.Response) -> bool:
        body = json_body(response)
        if not isinstance(body, dict):
            return False
        code = body.get("errcode")
        if code == 88:
            return str(body.get("sub_code")) in {str(c) for c in _REFRESH_CODES}
        return code in _REFRESH_CODES


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def stats(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/_sandbox/stats").json()  # type: ignore[no-any-return]


def expire(url: str) -> None:
    httpx.post(f"{url}/_sandbox/expire").raise_for_status()


@pytest.fixture
def dingtalk() -> Iterator[str]:
    app = create_token_sandbox(mode="dingtalk", client_id=APP_KEY, client_secret=APP_SECRET,
                               token_delay=0.05)
    with serve(app) as url:
        yield url


def auth_for(url: str, cache: MemoryTokenCache | None = None, *,
             clock: Callable[[], float] = time.time, **kwargs: Any) -> TokenAuth:
    provider = GetTokenProvider(url, APP_KEY, SecretStr(APP_SECRET), clock)
    return TokenAuth(provider, cache or MemoryTokenCache(), KEY, clock=clock, **kwargs)


async def get_items(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/items")
    body: dict[str, Any] = response.json()
    assert body["errcode"] == 0, body
    return body


async def test_token_auth__100_concurrent_requests_after_expiry_fetch_once(dingtalk: str) -> None:
    async with httpx.AsyncClient(base_url=dingtalk, auth=auth_for(dingtalk)) as client:
        await get_items(client)
        expire(dingtalk)  # the vendor expires the token: every request below meets a refusal
        await asyncio.gather(*(get_items(client) for _ in range(100)))
    counts = stats(dingtalk)
    assert counts["token_fetches"] == 2  # the first token, then exactly one replacement
    assert counts["accepted"] == 101
    assert counts["rejections"] >= 1


async def test_token_auth__100_concurrent_requests_after_client_side_expiry_fetch_once(
    dingtalk: str,
) -> None:
    clock = Clock()
    async with httpx.AsyncClient(base_url=dingtalk, auth=auth_for(dingtalk, clock=clock)) as c:
        await get_items(c)
        clock.now += 7200 - 299  # inside the 300 s margin: renew before the vendor refuses
        await asyncio.gather(*(get_items(c) for _ in range(100)))
    counts = stats(dingtalk)
    assert (counts["token_fetches"], counts["rejections"], counts["accepted"]) == (2, 0, 101)


async def test_token_auth__refused_token_is_refreshed_and_request_sent_again_once(
    dingtalk: str,
) -> None:
    cache = MemoryTokenCache()
    async with httpx.AsyncClient(base_url=dingtalk, auth=auth_for(dingtalk, cache)) as client:
        await get_items(client)
        first = await cache.get(KEY)
        expire(dingtalk)
        await get_items(client)
    counts = stats(dingtalk)
    assert (counts["token_fetches"], counts["rejections"], counts["protected_calls"]) == (2, 1, 3)
    second = await cache.get(KEY)
    assert first is not None and second is not None
    assert second.access_token != first.access_token


@pytest.mark.parametrize("mode", ["dingtalk", "oauth2"])
async def test_token_auth__second_refusal_raises_auth_error_without_loop(mode: str) -> None:
    from connectors.sdk.auth import OAuth2ClientCredentials

    # Tokens that are born expired: the vendor refuses even a freshly fetched one.
    app = create_token_sandbox(mode=mode, client_id=APP_KEY, client_secret=APP_SECRET,  # type: ignore[arg-type]
                               lifetime=0)
    with serve(app) as url:
        provider: TokenProvider = (
            GetTokenProvider(url, APP_KEY, SecretStr(APP_SECRET)) if mode == "dingtalk"
            else OAuth2ClientCredentials(f"{url}/oauth/token", APP_KEY, SecretStr(APP_SECRET))
        )
        auth = TokenAuth(provider, MemoryTokenCache(), KEY, connection="ding-main")
        async with httpx.AsyncClient(base_url=url, auth=auth) as client:
            with pytest.raises(AuthError) as caught:
                await client.get("/api/items")
        counts = stats(url)
    assert (counts["token_fetches"], counts["protected_calls"]) == (2, 2)
    assert caught.value.connection == "ding-main"
    assert "refused a freshly issued token" in str(caught.value)


async def test_token_auth__does_not_drop_a_newer_token_fetched_by_another_request(
    dingtalk: str,
) -> None:
    cache = MemoryTokenCache()
    first_auth, second_auth = auth_for(dingtalk, cache), auth_for(dingtalk, cache)
    async with (httpx.AsyncClient(base_url=dingtalk, auth=first_auth) as first,
                httpx.AsyncClient(base_url=dingtalk, auth=second_auth) as second):
        await get_items(first)
        await get_items(second)  # both now hold token 1
        expire(dingtalk)
        await get_items(first)  # refused, fetches token 2
        renewed = await cache.get(KEY)
        await get_items(second)  # refused with token 1: must take token 2, not drop it
    assert await cache.get(KEY) == renewed
    counts = stats(dingtalk)
    assert (counts["token_fetches"], counts["rejections"]) == (2, 2)


async def test_token_auth__bad_credentials_raise_auth_error_without_the_secret(
    dingtalk: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = GetTokenProvider(dingtalk, APP_KEY, SecretStr("wrong-secret-value-123"))
    auth = TokenAuth(provider, MemoryTokenCache(), KEY)
    async with httpx.AsyncClient(base_url=dingtalk, auth=auth) as client:
        with pytest.raises(AuthError) as caught:
            await client.get("/api/items")
    assert caught.value.vendor_code == "40096"
    assert caught.value.operation == "token"
    for text in (str(caught.value), repr(caught.value), repr(auth), repr(provider),
                 caplog.text):
        assert "wrong-secret-value-123" not in text
    assert stats(dingtalk)["protected_calls"] == 0


async def test_token_auth__unreachable_token_endpoint_is_transient() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = f"http://127.0.0.1:{port}"
    auth = auth_for(dead)
    async with httpx.AsyncClient(base_url=dead, auth=auth) as client:
        with pytest.raises(TransientError) as caught:
            await client.get("/api/items")
    assert caught.value.never_sent
    assert APP_SECRET not in str(caught.value)


async def test_token_auth__under_http_client_send(dingtalk: str) -> None:
    client = HttpClient(base_url=dingtalk, connector="ding", connection="ding-main",
                        auth=auth_for(dingtalk), retry=RetryPolicy(attempts=1))
    try:
        await client.send("GET", "/api/items", operation="items")
        expire(dingtalk)
        response = await client.send("GET", "/api/items", operation="items")
    finally:
        await client.aclose()
    assert response.json()["errcode"] == 0
    assert stats(dingtalk)["token_fetches"] == 2


async def test_token_auth__no_token_in_logs_reprs_or_cache_repr(
    dingtalk: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    cache = MemoryTokenCache()
    auth = auth_for(dingtalk, cache)
    async with httpx.AsyncClient(base_url=dingtalk, auth=auth) as client:
        await get_items(client)
        token = await cache.get(KEY)
        expire(dingtalk)
        await get_items(client)
    renewed = await cache.get(KEY)
    assert token is not None and renewed is not None
    values = [token.access_token.get_secret_value(), renewed.access_token.get_secret_value(),
              APP_SECRET]
    assert "HTTP Request" in caplog.text  # httpx did log the URLs ...
    for text in (caplog.text, repr(auth), repr(cache), repr(token), str(token)):
        for value in values:
            assert value not in text  # ... masked


def test_token_provider__apply_places_the_token() -> None:
    token = CachedToken.issue("tok-123", expires_in=60)

    class Bearer(TokenProvider):
        async def fetch(self, client: httpx.AsyncClient) -> CachedToken:
            raise NotImplementedError

    class Query(Bearer):
        query = "access_token"

    class AcsHeader(Bearer):
        header, scheme = "x-acs-dingtalk-access-token", None

    def applied(provider: TokenProvider) -> httpx.Request:
        request = httpx.Request("GET", "https://api.example.test/v1?access_token=old&x=1")
        provider.apply(request, token)
        return request

    assert applied(Bearer()).headers["Authorization"] == "Bearer tok-123"
    assert str(applied(Query()).url) == "https://api.example.test/v1?access_token=tok-123&x=1"
    assert applied(AcsHeader()).headers["x-acs-dingtalk-access-token"] == "tok-123"


@pytest.mark.parametrize(
    ("lifetime", "margin"), [(7200, 300), (1000, 100), (1, 0.1), (None, 300)],
)
def test_token_provider__expiry_margin(lifetime: float | None, margin: float) -> None:
    class Any_(TokenProvider):
        async def fetch(self, client: httpx.AsyncClient) -> CachedToken:
            raise NotImplementedError

    token = CachedToken.issue("t", expires_in=lifetime, now=1_700_000_000)
    assert Any_().expiry_margin(token) == pytest.approx(margin)


async def test_memory_token_cache__compare_and_delete() -> None:
    cache = MemoryTokenCache()
    await cache.put("k", CachedToken.issue("new"))
    assert await cache.delete("k", access_token="old") is False
    assert await cache.get("k") is not None
    assert await cache.delete("k", access_token="new") is True
    assert await cache.delete("k") is False


def test_cached_token__repr_hides_values() -> None:
    token = CachedToken.issue("access-secret-1", refresh_token="refresh-secret-2",
                              expires_in=10, extra={"scope": "read"})
    for text in (repr(token), str(token)):
        assert "access-secret-1" not in text and "refresh-secret-2" not in text
    assert "scope" in repr(token)


def test_token_sandbox__token_expires_after_its_lifetime() -> None:
    app = create_token_sandbox(mode="dingtalk", client_id=APP_KEY, client_secret=APP_SECRET,
                               lifetime=1)
    with serve(app) as url:
        issued = httpx.get(f"{url}/gettoken",
                           params={"appkey": APP_KEY, "appsecret": APP_SECRET}).json()
        time.sleep(1.1)  # only ever makes the outcome more certain
        stale = httpx.get(f"{url}/api/items", params={"access_token": issued["access_token"]})
        counts = stats(url)
    assert (issued["errcode"], issued["expires_in"]) == (0, 1)
    assert stale.status_code == 200 and stale.json()["errcode"] == 40014  # DingTalk style
    assert (counts["token_fetches"], counts["rejections"]) == (1, 1)
    assert counts["log"][-1] == {"event": "rejected", "reason": "expired",
                                 "at": counts["log"][-1]["at"]}


def test_token_cache_key__a_digest_of_the_secret_never_the_secret() -> None:
    from pydantic import SecretStr

    from connectors.sdk.auth import token_cache_key

    right = token_cache_key("wecom", "ww1", "1000002", secret=SecretStr("right-secret-1"))
    again = token_cache_key("wecom", "ww1", "1000002", secret=SecretStr("right-secret-1"))
    wrong = token_cache_key("wecom", "ww1", "1000002", secret=SecretStr("wrong-secret-1"))
    assert right == again and right != wrong
    assert right.startswith("wecom:ww1:1000002:s-") and "secret" not in right
