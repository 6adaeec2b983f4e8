"""Access tokens: fetched once, cached, renewed before expiry, refreshed once when refused."""

from __future__ import annotations

import asyncio
import time

import pytest

from connectors.sdk import AuthError, TransientError
from connectors.sdk.auth import CachedToken, MemoryTokenCache
from connectors.sdk.messaging import Message, Recipient

from .conftest import EnvFactory, WeComEnv

HELLO = Message("text", "工单 T-1", "客户来电催退款")
TO_LISI = [Recipient.user("lisi")]
SEND = "/cgi-bin/message/send"


def fetches(wecom: WeComEnv) -> int:
    return wecom.sandbox.counters["gettoken"]


async def test_token__fetched_once_for_many_sends(wecom: WeComEnv) -> None:
    async with wecom.connector() as connector:
        for _ in range(3):
            assert (await connector.notify(HELLO, to=TO_LISI)).status == "sent"
    assert fetches(wecom) == 1


@pytest.mark.parametrize(("vendor_move", "code"), [
    ("expire_tokens", 42001), ("revoke_tokens", 40014)])
async def test_token__refused_mid_run_is_refreshed_once_and_no_message_is_lost(
    wecom: WeComEnv, vendor_move: str, code: int
) -> None:
    async with wecom.connector() as connector:
        await connector.notify(HELLO, to=TO_LISI)
        getattr(wecom.sandbox, vendor_move)()
        second = await connector.notify(Message("text", "T-2", "第二条"), to=TO_LISI)
    assert second.status == "sent"
    assert wecom.errcodes("message/send") == [0, code, 0]
    assert fetches(wecom) == 2
    assert [m.content["content"] for m in wecom.sandbox.inbox("lisi")] == [
        "工单 T-1\n客户来电催退款", "T-2\n第二条"]


async def test_token__concurrent_sends_after_expiry_fetch_one_token(wecom: WeComEnv) -> None:
    async with wecom.connector() as connector:
        await connector.notify(HELLO, to=TO_LISI)
        wecom.sandbox.expire_tokens()
        deliveries = await asyncio.gather(*(
            connector.notify(Message("text", f"T-{n}", "并发"), to=TO_LISI) for n in range(5)))
    assert all(d.status == "sent" for d in deliveries)
    assert fetches(wecom) == 2
    assert len(wecom.sandbox.inbox("lisi")) == 6


async def test_token__near_expiry_is_renewed_before_it_is_sent(wecom: WeComEnv) -> None:
    cache = MemoryTokenCache()
    # Lives 100 s, 95 s gone: inside the renewal margin (a tenth of its life).
    async with wecom.connector(token_cache=cache) as connector:
        await cache.put(connector.token_key, CachedToken.issue(
            "almost-expired-token", expires_in=100, now=time.time() - 95))
        await connector.notify(HELLO, to=TO_LISI)
    assert wecom.errcodes("message/send") == [0]  # the old token never reached WeCom
    assert fetches(wecom) == 1


async def test_token__shared_cache_serves_two_connectors_with_one_fetch(wecom: WeComEnv) -> None:
    cache = MemoryTokenCache()
    async with wecom.connector(token_cache=cache) as one, \
            wecom.connector(token_cache=cache) as two:
        await one.notify(HELLO, to=TO_LISI)
        await two.notify(HELLO, to=TO_LISI)
    assert fetches(wecom) == 1


async def test_token__refused_again_after_refresh_is_an_auth_error(wecom: WeComEnv) -> None:
    wecom.faults.fail_next(2, status=200, body={"errcode": 40014, "errmsg": "invalid token"},
                           path_prefix=SEND)
    async with wecom.connector() as connector:
        with pytest.raises(AuthError, match="freshly issued token") as caught:
            await connector.notify(HELLO, to=TO_LISI)
    assert caught.value.connection == "wecom"
    assert fetches(wecom) == 2  # one refresh, no loop


async def test_token__wrong_secret_is_not_tried_again_for_a_while(wecom: WeComEnv) -> None:
    for _ in range(3):  # a connector per run, as the hub builds them, on the shared cache
        async with wecom.connector(corp_secret="wrong-secret-123456") as connector:
            with pytest.raises(AuthError) as caught:
                await connector.notify(HELLO, to=TO_LISI)
            assert "wrong-secret-123456" not in str(caught.value)
            assert caught.value.vendor_code == "40001"
            assert caught.value.connection == "wecom"
    async with wecom.connector(corp_secret="wrong-secret-123456") as connector:
        result = await connector.check()
    assert fetches(wecom) == 1  # repeated wrong secrets get an IP blocked: asked once
    assert result.reachable and not result.authenticated
    assert "not tried again" in (result.detail or "")
    assert wecom.log("message/send") == []


async def test_token__refusal_is_retried_after_the_backoff(wecom: WeComEnv) -> None:
    async with wecom.connector(corp_secret="wrong-secret-123456",
                               token_refusal_backoff=0) as connector:
        for _ in range(2):
            with pytest.raises(AuthError):
                await connector.notify(HELLO, to=TO_LISI)
    assert fetches(wecom) == 2


@pytest.mark.parametrize(("overrides", "code"), [
    ({"corp_id": "wwnotthiscorp000"}, "40013"),
    ({"corp_secret": "another-secret-0000"}, "40001"),
])
async def test_check__refused_credentials_say_reachable_not_authenticated(
    wecom: WeComEnv, overrides: dict[str, str], code: str
) -> None:
    async with wecom.connector(**overrides) as connector:
        result = await connector.check()
    assert result.reachable and not result.authenticated and not result.ok
    assert code in (result.detail or "")
    assert "connection 'wecom'" in (result.detail or "")


async def test_check__ok_fetches_a_fresh_token_into_the_cache(wecom: WeComEnv) -> None:
    async with wecom.connector() as connector:
        result = await connector.check()
        await connector.notify(HELLO, to=TO_LISI)
    assert result.ok and result.latency_ms is not None
    assert fetches(wecom) == 1  # the send used the token check() fetched


async def test_check__unreachable_host_is_not_reachable(wecom: WeComEnv) -> None:
    async with wecom.connector(base_url="http://127.0.0.1:9", max_attempts=1) as connector:
        result = await connector.check()
        with pytest.raises(TransientError):
            await connector.notify(HELLO, to=TO_LISI)
    assert not result.reachable


@pytest.mark.parametrize("code", [45009, -1])
async def test_token__gettoken_busy_or_limited_is_retried_not_remembered(
    make_env: EnvFactory, code: int
) -> None:
    wecom = make_env()
    wecom.faults.fail_next(1, status=200, body={"errcode": code, "errmsg": "busy"},
                           path_prefix="/cgi-bin/gettoken")
    async with wecom.connector(max_retry_after=0.05) as connector:
        delivery = await connector.notify(HELLO, to=TO_LISI)
    assert delivery.status == "sent"
    results = [r.result for r in wecom.faults.requests() if r.path == "/cgi-bin/gettoken"]
    assert results == [200, 200] and fetches(wecom) == 1  # the first never reached the app


async def test_token__a_wrong_secret_never_borrows_the_cached_token(wecom: WeComEnv) -> None:
    cache = MemoryTokenCache()
    async with wecom.connector(token_cache=cache) as connector:
        await connector.notify(HELLO, to=TO_LISI)
    async with wecom.connector(token_cache=cache, corp_secret="not-the-secret") as wrong:
        assert wrong.token_key != connector.token_key
        assert await cache.get(wrong.token_key) is None
        assert not (await wrong.check()).ok
