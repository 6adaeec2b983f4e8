"""The app token against the sandbox: lifetime, expiry mid-run, refresh once, fetch spacing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
import respx

from connectors.dingtalk.client import GETBYMOBILE_PATH
from connectors.dingtalk.connector import DingTalkConnector
from connectors.sdk import AuthError
from connectors.sdk.auth import MemoryTokenCache
from connectors.sdk.messaging import Message, Recipient
from connectors.sdk.ratelimit import MemoryBudgetStore

FAST = {"per_second": 1000, "headroom": 1}


def message(n: int) -> Message:
    return Message("text", f"工单 T-{n}", f"客户来电 #{n}")


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize("expiry", ["revoked", "lifetime"])
async def test_tokens__expiry_mid_run_refreshes_once_and_loses_no_message(
    start_sandbox: Any, expiry: str
) -> None:
    clock = _Clock(time.time())
    server = start_sandbox(clock=clock, app_qps=None, token_lifetime=7200)
    async with server.connector(clock=clock) as dingtalk:
        for n in range(3):
            await dingtalk.notify(message(n), to=[Recipient.user("user001")])
        if expiry == "revoked":
            server.state.expire_tokens()  # the vendor drops it before the client expects
        else:
            clock.advance(7200)  # its lifetime ran out: the client knows from expires_in
        deliveries = await asyncio.gather(*(
            dingtalk.notify(message(n), to=[Recipient.user(f"user{n:03d}")])
            for n in range(3, 13)))
    assert server.paths().count("/gettoken") == 2  # the first, and exactly one refresh
    assert all(d.status == "pending" for d in deliveries)
    assert len(server.state.tasks) == 13  # no message lost
    refused = server.paths(errcode=88)  # revoked: the first senders hear 88/42001 and resend
    assert (len(refused) > 0) is (expiry == "revoked")
    assert len(server.state.issued) == 2


async def test_tokens__a_live_token_is_handed_back_with_a_longer_life(sandbox: Any) -> None:
    cache = MemoryTokenCache()
    async with DingTalkConnector.from_dict(sandbox.config(), token_cache=cache) as dingtalk:
        assert (await dingtalk.check()).ok
        first = await cache.get(dingtalk.token_key)
        assert (await dingtalk.check()).ok
        second = await cache.get(dingtalk.token_key)
    assert first is not None and second is not None
    assert first.access_token == second.access_token
    assert second.expires_at is not None and first.expires_at is not None
    assert second.expires_at >= first.expires_at
    assert len(sandbox.state.issued) == 1


async def test_tokens__connectors_sharing_a_cache_fetch_once(sandbox: Any) -> None:
    cache = MemoryTokenCache()  # the hub passes its store-backed cache the same way
    connectors = [DingTalkConnector.from_dict(sandbox.config(), token_cache=cache)
                  for _ in range(3)]
    try:
        await asyncio.gather(*(c.user_id_by_mobile("13800000001") for c in connectors))
        await asyncio.gather(*(c.user_id_by_mobile("13800000002") for c in connectors))
    finally:
        for connector in connectors:
            await connector.aclose()
    assert sandbox.paths().count("/gettoken") == 1


async def test_tokens__a_token_refused_twice_raises_without_looping(sandbox: Any) -> None:
    refused = {"errcode": 88, "sub_code": "40014", "sub_msg": "不合法的access_token",
               "errmsg": "ding talk error[subcode=40014,submsg=不合法的access_token]"}
    sandbox.faults.fail_next(2, status=200, body=refused, path_prefix=GETBYMOBILE_PATH)
    async with sandbox.connector() as dingtalk:
        with pytest.raises(AuthError, match="freshly issued token") as caught:
            await dingtalk.user_id_by_mobile("13800000001")
    assert sandbox.paths().count("/gettoken") == 2  # the first fetch and one refresh only
    assert "connection 'dt'" in str(caught.value)


class _RecordingStore(MemoryBudgetStore):
    def __init__(self, clock: _Clock) -> None:
        super().__init__(clock=clock)
        self.waits: list[tuple[str, float]] = []

    async def reserve(self, key: str, interval: float) -> float:
        wait = await super().reserve(key, interval)
        self.waits.append((key, wait))
        return wait


async def test_tokens__fetches_wait_for_the_token_budget(sandbox: Any) -> None:
    # The budget's clock stands still: the refresh is booked as if it came at once after the
    # first fetch, however long this machine takes between the two (a real clock let a slow
    # run pass the 0.2 s spacing and book the refresh with no wait).
    store = _RecordingStore(_Clock(1_000_000.0))
    config = sandbox.config(token_rate_limit={"per_second": 5, "headroom": 1})
    async with DingTalkConnector.from_dict(config, budget_store=store) as dingtalk:
        await dingtalk.user_id_by_mobile("13800000001")
        sandbox.state.expire_tokens()
        await dingtalk.user_id_by_mobile("13800000002")
    token_waits = [wait for key, wait in store.waits if key.startswith("dingtalk:token:")]
    assert sandbox.paths().count("/gettoken") == 2
    # the refresh was spaced by the budget's interval, not sent at once (a stalled sleep may
    # book further slots after these two)
    assert token_waits[:2] == [0, pytest.approx(0.2)]


async def test_check__a_wrong_secret_is_reachable_not_authenticated(sandbox: Any) -> None:
    async with sandbox.connector(app_secret="wrong-secret-77ab") as dingtalk:
        result = await dingtalk.check()
    assert result.reachable and not result.authenticated
    assert result.detail is not None and "40096" in result.detail
    assert "connection 'dt'" in result.detail and "wrong-secret-77ab" not in result.detail


async def test_check__a_closed_port_is_unreachable(sandbox: Any) -> None:
    async with sandbox.connector(base_url="http://127.0.0.1:9") as dingtalk:
        result = await dingtalk.check()
    assert not result.reachable and not result.authenticated


@respx.mock
async def test_tokens__new_api_gets_the_header_and_refreshes_on_invalid_authentication() -> None:
    base = "https://oapi.dingtalk.test"
    tokens = iter(["tok-one-1234", "tok-two-5678"])
    respx.get(f"{base}/gettoken").mock(side_effect=lambda request: httpx.Response(
        200, json={"errcode": 0, "errmsg": "ok", "access_token": next(tokens),
                   "expires_in": 7200}))
    seen: list[tuple[str | None, str]] = []

    def batch_send(request: httpx.Request) -> httpx.Response:
        header = request.headers.get("x-acs-dingtalk-access-token")
        seen.append((header, str(request.url)))
        if header == "tok-one-1234":
            return httpx.Response(400, json={"code": "InvalidAuthentication",
                                             "message": "不合法的access_token"})
        return httpx.Response(200, json={"processQueryKey": "k", "invalidStaffIdList": []})

    respx.post(f"{base}/v1.0/robot/oToMessages/batchSend").mock(side_effect=batch_send)
    config = {"base_url": base, "app_key": "k", "app_secret": "s3cret-value", "agent_id": 1,
              "rate_limit": FAST, "token_rate_limit": FAST}
    async with DingTalkConnector.from_dict(config) as dingtalk:
        response = await dingtalk.http.send("POST", "/v1.0/robot/oToMessages/batchSend",
                                            operation="robot.batch_send", json={})
    assert response.json()["processQueryKey"] == "k"
    assert [header for header, _ in seen] == ["tok-one-1234", "tok-two-5678"]
    assert all("access_token" not in url for _, url in seen)  # never in the query there


async def test_tokens__a_wrong_secret_never_borrows_the_cached_token(sandbox: Any) -> None:
    cache = MemoryTokenCache()
    async with DingTalkConnector.from_dict(sandbox.config(), token_cache=cache) as right:
        assert (await right.check()).ok
    wrong_config = {**sandbox.config(), "app_secret": "not-the-app-secret"}
    async with DingTalkConnector.from_dict(wrong_config, token_cache=cache) as wrong:
        assert wrong.token_key != right.token_key
        assert await cache.get(wrong.token_key) is None
        assert await cache.get(right.token_key) is not None
