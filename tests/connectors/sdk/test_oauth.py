"""OAuth2 providers against the token sandbox: client credentials and refresh-token rotation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.sdk import AuthError
from connectors.sdk.auth import (
    MemoryTokenCache,
    OAuth2ClientCredentials,
    OAuth2RefreshToken,
    TokenAuth,
)
from connectors.sdk.sandbox import serve
from connectors.sdk.testing.token_sandbox import create_token_sandbox

CLIENT_ID = "hub-client"
CLIENT_SECRET = "oauth-client-secret-7a6b5c"
SEED = "seed-refresh-token-3e2d1c"
KEY = f"acme:{CLIENT_ID}"


def stats(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/_sandbox/stats").json()  # type: ignore[no-any-return]


def expire(url: str) -> None:
    httpx.post(f"{url}/_sandbox/expire").raise_for_status()


def serve_oauth(**options: Any) -> Any:
    app = create_token_sandbox(mode="oauth2", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                               **options)
    return serve(app)


@pytest.fixture
def rotating() -> Iterator[str]:
    with serve_oauth(refresh_token=SEED) as url:
        yield url


async def items(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/items")
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 3


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_client_credentials__fetches_a_token_with_either_auth_method(method: str) -> None:
    with serve_oauth() as url:
        provider = OAuth2ClientCredentials(f"{url}/oauth/token", CLIENT_ID,
                                           SecretStr(CLIENT_SECRET), auth_method=method,  # type: ignore[arg-type]
                                           scope=["items:read"])
        auth = TokenAuth(provider, MemoryTokenCache(), KEY)
        async with httpx.AsyncClient(base_url=url, auth=auth) as client:
            await asyncio.gather(*(items(client) for _ in range(10)))
            expire(url)
            await items(client)
        counts = stats(url)
    assert counts["grants"] == {"client_credentials": 2}
    assert counts["client_auth"] == {method: 2}
    assert (counts["rejections"], counts["accepted"]) == (1, 11)


async def test_client_credentials__wrong_secret_is_auth_error_without_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with serve_oauth() as url:
        provider = OAuth2ClientCredentials(f"{url}/oauth/token", CLIENT_ID,
                                           SecretStr("not-the-secret-42"))
        auth = TokenAuth(provider, MemoryTokenCache(), KEY)
        async with httpx.AsyncClient(base_url=url, auth=auth) as client:
            with pytest.raises(AuthError) as caught:
                await client.get("/api/items")
    assert (caught.value.status, caught.value.vendor_code) == (401, "invalid_client")
    for text in (str(caught.value), repr(provider), repr(auth), caplog.text):
        assert "not-the-secret-42" not in text


async def test_refresh_token__rotation_persists_the_new_refresh_token(
    rotating: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    cache = MemoryTokenCache()
    provider = OAuth2RefreshToken(f"{rotating}/oauth/token", CLIENT_ID, SecretStr(CLIENT_SECRET),
                                  refresh_token=SecretStr(SEED))
    auth = TokenAuth(provider, cache, KEY)
    seen: list[str] = [SEED]
    async with httpx.AsyncClient(base_url=rotating, auth=auth) as client:
        for _ in range(3):
            await asyncio.gather(*(items(client) for _ in range(20)))
            token = await cache.get(KEY)
            assert token is not None and token.refresh_token is not None
            rotated = token.refresh_token.get_secret_value()
            assert rotated not in seen  # a new one each time, and it is what the cache holds
            seen.append(rotated)
            seen.append(token.access_token.get_secret_value())
            expire(rotating)
    counts = stats(rotating)
    for value in [*seen, CLIENT_SECRET]:
        assert value not in caplog.text
        assert value not in repr(auth) and value not in repr(cache)
    assert counts["grants"] == {"refresh_token": 3}
    assert counts["refresh_tokens_presented"] == 3  # the seed, then each rotated one once
    assert counts["refresh_token_reuses"] == 0  # a spent refresh token was never sent again
    assert counts["token_fetches_refused"] == 0


async def test_refresh_token__a_restarted_process_uses_the_cached_token_not_the_seed(
    rotating: str,
) -> None:
    cache = MemoryTokenCache()  # stands for the shared store that outlives the process

    def fresh_auth() -> TokenAuth:
        provider = OAuth2RefreshToken(f"{rotating}/oauth/token", CLIENT_ID,
                                      SecretStr(CLIENT_SECRET), refresh_token=SecretStr(SEED),
                                      auth_method="client_secret_post")
        return TokenAuth(provider, cache, KEY)

    for _ in range(2):
        async with httpx.AsyncClient(base_url=rotating, auth=fresh_auth()) as client:
            await items(client)
        expire(rotating)
    async with httpx.AsyncClient(base_url=rotating, auth=fresh_auth()) as client:
        await items(client)
    counts = stats(rotating)
    assert (counts["refresh_tokens_presented"], counts["refresh_token_reuses"]) == (3, 0)


async def test_refresh_token__refused_refresh_token_is_auth_error(rotating: str) -> None:
    provider = OAuth2RefreshToken(f"{rotating}/oauth/token", CLIENT_ID, SecretStr(CLIENT_SECRET),
                                  refresh_token=SecretStr("revoked-refresh-token-1"))
    auth = TokenAuth(provider, MemoryTokenCache(), KEY)
    async with httpx.AsyncClient(base_url=rotating, auth=auth) as client:
        with pytest.raises(AuthError) as caught:
            await client.get("/api/items")
    assert (caught.value.status, caught.value.vendor_code) == (400, "invalid_grant")
    assert "revoked-refresh-token-1" not in str(caught.value)


async def test_refresh_token__server_that_does_not_rotate_keeps_the_old_one() -> None:
    with serve_oauth(refresh_token=SEED, rotate_refresh_tokens=False) as url:
        cache = MemoryTokenCache()
        provider = OAuth2RefreshToken(f"{url}/oauth/token", CLIENT_ID, SecretStr(CLIENT_SECRET),
                                      refresh_token=SecretStr(SEED))
        async with httpx.AsyncClient(base_url=url, auth=TokenAuth(provider, cache, KEY)) as c:
            await items(c)
            expire(url)
            await items(c)
        token = await cache.get(KEY)
        counts = stats(url)
    assert token is not None and token.refresh_token == SecretStr(SEED)
    assert counts["grants"] == {"refresh_token": 2}


async def test_client_credentials__uses_an_issued_refresh_token_then_falls_back() -> None:
    with serve_oauth(issue_refresh_tokens=True) as url:
        cache = MemoryTokenCache()
        provider = OAuth2ClientCredentials(f"{url}/oauth/token", CLIENT_ID,
                                           SecretStr(CLIENT_SECRET))
        async with httpx.AsyncClient(base_url=url, auth=TokenAuth(provider, cache, KEY)) as c:
            await items(c)
            expire(url)
            await items(c)  # refreshed with the refresh token
            token = await cache.get(KEY)
            assert token is not None and token.refresh_token is not None
            # The server forgets the refresh token: the provider starts over with credentials.
            await cache.put(KEY, type(token)(token.access_token, SecretStr("forgotten-rt"),
                                             token.expires_at, token.issued_at))
            expire(url)
            await items(c)
        counts = stats(url)
    assert counts["grants"] == {"client_credentials": 2, "refresh_token": 1}
    assert counts["token_fetches_refused"] == 1


def test_oauth2_provider__needs_a_secret_unless_auth_method_none() -> None:
    with pytest.raises(ValueError, match="client_secret"):
        OAuth2ClientCredentials("https://auth.example.test/token", CLIENT_ID)
    provider = OAuth2ClientCredentials("https://auth.example.test/token", CLIENT_ID,
                                       auth_method="none")
    assert "none" in repr(provider)
