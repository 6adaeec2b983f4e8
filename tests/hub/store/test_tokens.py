"""The store-backed token cache on SQLite and PostgreSQL, and processes sharing it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.sdk import json_body
from connectors.sdk.auth import CachedToken, TokenAuth, TokenCache, TokenLease, TokenProvider
from connectors.sdk.sandbox import serve
from connectors.sdk.testing.token_sandbox import create_token_sandbox
from hub.store import migrate
from hub.store.engine import create_engine, session_factory
from hub.store.tokens import SqlTokenCache

APP_KEY, APP_SECRET = "dingappkey0002", "ding-app-secret-1a2b3c4d5e"
KEY = f"dingtalk:{APP_KEY}"

CacheFactory = Callable[[], SqlTokenCache]


@pytest.fixture
async def caches(database_url: str) -> AsyncIterator[CacheFactory]:
    """Makes caches on one store, each with its own engine: as separate processes would."""
    engines = [create_engine(database_url)]
    migrate.upgrade(engines[0])

    def make() -> SqlTokenCache:
        engine = create_engine(database_url)
        engines.append(engine)
        return SqlTokenCache(session_factory(engine))

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def dingtalk() -> Iterator[str]:
    app = create_token_sandbox(mode="dingtalk", client_id=APP_KEY, client_secret=APP_SECRET,
                               token_delay=0.1)
    with serve(app) as url:
        yield url


class GetTokenProvider(TokenProvider):
    query = "access_token"

    def __init__(self, base_url: str) -> None:
        self.base_url, self.secret = base_url, SecretStr(APP_SECRET)

    async def fetch(self, client: httpx.AsyncClient) -> CachedToken:
        response = await self.request_token(client, "GET", f"{self.base_url}/gettoken", params={
            "appkey": APP_KEY, "appsecret": self.secret.get_secret_value()})
        body = json_body(response)
        if body.get("errcode") != 0:
            raise self.refused(body.get("errmsg"), vendor_code=body.get("errcode"))
        return CachedToken.issue(body["access_token"], expires_in=body["expires_in"])

    def is_token_invalid(self, response: httpx.Response) -> bool:
        return (json_body(response) or {}).get("errcode") in (40014, 42001)


def stats(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/_sandbox/stats").json()  # type: ignore[no-any-return]


async def fetch_items(url: str, auth: TokenAuth, count: int) -> None:
    async with httpx.AsyncClient(base_url=url, auth=auth) as client:
        responses = await asyncio.gather(*(client.get("/api/items") for _ in range(count)))
    assert all(r.json()["errcode"] == 0 for r in responses)


async def test_sql_token_cache__round_trip(caches: CacheFactory) -> None:
    cache = caches()
    assert isinstance(cache, TokenCache) and isinstance(cache, TokenLease)
    assert await cache.get(KEY) is None
    token = CachedToken.issue("at-1", refresh_token="rt-1", expires_in=7200,
                              extra={"token_type": "Bearer", "scope": "a b"},
                              now=1_700_000_000.25)
    await cache.put(KEY, token)
    stored = await caches().get(KEY)  # another "process" reads it
    assert stored is not None
    assert stored.access_token.get_secret_value() == "at-1"
    assert stored.refresh_token is not None and stored.refresh_token.get_secret_value() == "rt-1"
    assert stored.expires_at == token.expires_at
    assert stored.issued_at == pytest.approx(1_700_000_000.25, abs=1e-5)
    assert dict(stored.extra) == {"token_type": "Bearer", "scope": "a b"}


async def test_sql_token_cache__put_replaces(caches: CacheFactory) -> None:
    cache = caches()
    await cache.put(KEY, CachedToken.issue("at-1", refresh_token="rt-1"))
    await cache.put(KEY, CachedToken.issue("at-2"))
    stored = await cache.get(KEY)
    assert stored is not None and stored.access_token == SecretStr("at-2")
    assert stored.refresh_token is None and stored.expires_at is None


async def test_sql_token_cache__compare_and_delete(caches: CacheFactory) -> None:
    cache = caches()
    await cache.put(KEY, CachedToken.issue("newer"))
    assert await cache.delete(KEY, access_token="older") is False
    assert await cache.get(KEY) is not None
    assert await cache.delete(KEY, access_token="newer") is True
    assert await cache.get(KEY) is None
    assert await cache.delete(KEY) is False


async def test_sql_token_cache__lease_is_exclusive_until_released_or_expired(
    caches: CacheFactory,
) -> None:
    first, second = caches(), caches()
    assert await first.acquire_lease(KEY, owner="a", ttl=60)
    assert not await second.acquire_lease(KEY, owner="b", ttl=60)
    await second.release_lease(KEY, owner="b")  # not the holder: no effect
    assert not await second.acquire_lease(KEY, owner="b", ttl=60)
    await first.release_lease(KEY, owner="a")
    assert await second.acquire_lease(KEY, owner="b", ttl=-1)  # already run out ...
    assert await first.acquire_lease(KEY, owner="a", ttl=60)  # ... so it can be taken over
    assert await first.get(KEY) is None  # leases are not tokens


async def test_sql_token_cache__repr_and_key_checks(caches: CacheFactory) -> None:
    cache = caches()
    assert repr(cache) == "SqlTokenCache()"
    with pytest.raises(ValueError, match="key"):
        await cache.get("k" * 195)


async def test_sql_token_cache__two_processes_fetch_once_between_them(
    caches: CacheFactory, dingtalk: str,
) -> None:
    # Two caches with their own engines and two TokenAuths: no in-process lock is shared,
    # so only the store (its lease and its rows) keeps them to one fetch.
    first = TokenAuth(GetTokenProvider(dingtalk), caches(), KEY, poll_interval=0.02)
    second = TokenAuth(GetTokenProvider(dingtalk), caches(), KEY, poll_interval=0.02)
    await asyncio.gather(fetch_items(dingtalk, first, 30), fetch_items(dingtalk, second, 30))
    assert stats(dingtalk)["token_fetches"] == 1

    httpx.post(f"{dingtalk}/_sandbox/expire").raise_for_status()
    await asyncio.gather(fetch_items(dingtalk, first, 30), fetch_items(dingtalk, second, 30))
    counts = stats(dingtalk)
    assert counts["token_fetches"] == 2
    assert counts["accepted"] == 120


async def test_sql_token_cache__a_later_process_reuses_the_token(
    caches: CacheFactory, dingtalk: str,
) -> None:
    await fetch_items(dingtalk, TokenAuth(GetTokenProvider(dingtalk), caches(), KEY), 5)
    await fetch_items(dingtalk, TokenAuth(GetTokenProvider(dingtalk), caches(), KEY), 5)
    assert stats(dingtalk)["token_fetches"] == 1
