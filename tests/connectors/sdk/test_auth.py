"""The simple auth flows: where each puts its secret, and that no repr shows it."""

from __future__ import annotations

import logging

import httpx
import pytest
from pydantic import SecretStr

from connectors.sdk.auth import ApiKeyAuth, BasicAuth, BearerAuth

SECRET = "key-0f9e8d7c6b5a"


async def sent_through(auth: httpx.Auth) -> httpx.Request:
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        await client.get("https://api.example.test/v1/items?page=2")
    return captured[0]


async def test_api_key_auth__header_by_default() -> None:
    request = await sent_through(ApiKeyAuth(SecretStr(SECRET)))
    assert request.headers["X-API-Key"] == SECRET
    assert "access_token" not in request.url.params


async def test_api_key_auth__named_header() -> None:
    request = await sent_through(ApiKeyAuth(SecretStr(SECRET), header="X-Token"))
    assert request.headers["X-Token"] == SECRET


async def test_api_key_auth__query_parameter(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    request = await sent_through(ApiKeyAuth(SecretStr(SECRET), query="access_token"))
    assert request.url.params["access_token"] == SECRET
    assert request.url.params["page"] == "2"
    assert "X-API-Key" not in request.headers
    assert "HTTP Request" in caplog.text and SECRET not in caplog.text  # httpx's log masked


def test_api_key_auth__header_and_query_together_is_an_error() -> None:
    with pytest.raises(ValueError, match="either header or query"):
        ApiKeyAuth(SecretStr(SECRET), header="X-Key", query="key")


async def test_bearer_auth__authorization_header() -> None:
    request = await sent_through(BearerAuth(SecretStr(SECRET)))
    assert request.headers["Authorization"] == f"Bearer {SECRET}"


async def test_basic_auth__matches_httpx_and_encodes_utf8() -> None:
    ours = await sent_through(BasicAuth("客服", SecretStr("pä$$")))
    theirs = await sent_through(httpx.BasicAuth("客服".encode(), "pä$$".encode()))
    assert ours.headers["Authorization"] == theirs.headers["Authorization"]


@pytest.mark.parametrize(
    "auth",
    [
        ApiKeyAuth(SecretStr(SECRET)),
        ApiKeyAuth(SecretStr(SECRET), query="access_token"),
        BearerAuth(SecretStr(SECRET)),
        BasicAuth("agent", SecretStr(SECRET)),
    ],
    ids=["api-key-header", "api-key-query", "bearer", "basic"],
)
def test_auth__repr_hides_the_secret(auth: httpx.Auth) -> None:
    assert SECRET not in repr(auth)
    assert "***" in repr(auth)
