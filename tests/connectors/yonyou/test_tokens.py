"""Data-centre lookup, the signed token, its cache, renewal on 310036, refusals."""

from __future__ import annotations

import pytest

from connectors.sdk import AuthError, ConfigError, NotFoundError
from connectors.sdk.auth import MemoryTokenCache
from connectors.yonyou.connector import YonyouConnector

from .conftest import Server


async def test_lookup_and_token__once_for_many_requests(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        for _ in range(3):
            rows = [b async for b in connector.read("materials")]
            assert rows
    assert sandbox.paths().count("/open-auth/dataCenter/getGatewayAddress") == 1
    token_calls = [r for r in sandbox.state.log if r["path"].endswith("getAccessToken")]
    assert len(token_calls) == 1
    # The sandbox checked the signature as received: encoded once, not twice.
    assert token_calls[0]["signature_check"] == "ok" and token_calls[0]["code"] == "00000"


async def test_token__shared_through_the_given_cache(sandbox: Server) -> None:
    cache = MemoryTokenCache()
    for _ in range(2):
        connector = YonyouConnector.from_dict(sandbox.config(), token_cache=cache)
        async with connector:
            await connector.check()
    assert sandbox.state.auth.token_calls == 1


async def test_expired_token__310036_renewed_once_and_resent(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        [b async for b in connector.read("stock")]
        sandbox.control("POST", "/expire_tokens")
        batches = [b async for b in connector.read("stock")]
    assert batches[0].records
    assert sandbox.state.auth.token_calls == 2
    assert sandbox.paths("310036") == ["/iuap-api-gateway/yonbip/scm/stock/"
                                       "QueryCurrentStocksByCondition"]


async def test_expired_token__text_plain_answer_tolerated(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        [b async for b in connector.read("stock")]
        sandbox.control("POST", "/config", json={"text_token_error": True})
        sandbox.control("POST", "/expire_tokens")
        batches = [b async for b in connector.read("stock")]
    assert batches[0].records and sandbox.state.auth.token_calls == 2


async def test_unknown_app_key__auth_error_10018(sandbox: Server) -> None:
    async with sandbox.connector(app_key="no-such-app") as connector:
        with pytest.raises(AuthError) as caught:
            [b async for b in connector.read("stock")]
    assert caught.value.vendor_code == "10018"
    async with sandbox.connector(app_key="no-such-app") as connector:
        result = await connector.check()
    assert not result.authenticated


async def test_wrong_secret__signature_refused(sandbox: Server) -> None:
    async with sandbox.connector(app_secret="not-the-secret") as connector:
        with pytest.raises(AuthError):
            [b async for b in connector.read("stock")]
    assert sandbox.state.log[-1]["signature_check"] == "bad"


async def test_unknown_tenant__config_error(sandbox: Server) -> None:
    async with sandbox.connector(tenant_id="nobody") as connector:
        with pytest.raises(ConfigError) as caught:
            await (await connector.api()).read("/yonbip/x", {}, operation="x")
    assert caught.value.vendor_code == "500"


async def test_explicit_urls__skip_the_lookup(sandbox: Server) -> None:
    config = {"gateway_url": sandbox.url + "/iuap-api-gateway",
              "token_url": sandbox.url + "/iuap-api-auth"}
    async with sandbox.connector(**config) as connector:
        assert (await connector.check()).ok
    assert "/open-auth/dataCenter/getGatewayAddress" not in sandbox.paths()


async def test_unknown_path__404_before_the_token(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        client = await connector.api()
        with pytest.raises(NotFoundError) as caught:
            await client.read("/yonbip/no/such/api", {}, operation="x")
    assert caught.value.vendor_code == "310404"
