"""The store-backed nonce store and token cache, as every process of the hub shares them."""

from __future__ import annotations

import asyncio
from typing import Any

from connectors.sdk.crypto import NonceStore
from hub.store.models import CallbackNonce
from hub.store.nonces import SqlNonceStore

from .conftest import MessagingHub, Sandboxes, rows


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_nonce_store__a_key_is_first_seen_once_until_it_expires(
    messaging_hub: MessagingHub,
) -> None:
    hub = messaging_hub()
    clock = Clock()
    store, other_process = SqlNonceStore(hub.sessions, clock), SqlNonceStore(hub.sessions, clock)
    assert isinstance(store, NonceStore)
    assert await store.remember("wecom:ww1:1:abc", ttl=600) is True
    assert await other_process.remember("wecom:ww1:1:abc", ttl=600) is False
    assert await store.remember("wecom:ww1:1:abd", ttl=600) is True
    clock.now += 601
    assert await other_process.remember("wecom:ww1:1:abc", ttl=600) is True  # expired: reusable
    assert await store.remember("wecom:ww1:1:abc", ttl=600) is False


async def test_nonce_store__concurrent_remembers_of_one_key_admit_one(
    messaging_hub: MessagingHub,
) -> None:
    hub = messaging_hub()
    stores = [SqlNonceStore(hub.sessions) for _ in range(4)]
    results = await asyncio.gather(*(s.remember("dingtalk:k:n-1", ttl=60) for s in stores * 3))
    assert sorted(results) == [False] * 11 + [True]


async def test_nonce_store__long_keys_are_stored_as_digests_and_expired_rows_purged(
    messaging_hub: MessagingHub,
) -> None:
    hub = messaging_hub()
    clock = Clock()
    store = SqlNonceStore(hub.sessions, clock)
    long_key = "wecom:ww1:1:" + "n" * 400
    assert await store.remember(long_key, ttl=10) is True
    assert await store.remember(long_key, ttl=10) is False
    [row] = rows(hub, CallbackNonce)
    assert row.key.startswith("sha256:") and len(row.key) <= 200
    clock.now += 3600  # the next write, a minute or more later, purges what has expired
    assert await store.remember("fresh", ttl=10) is True
    assert [r.key for r in rows(hub, CallbackNonce)] == ["fresh"]


async def test_connector__app_tokens_are_shared_through_the_store(
    messaging_hub: MessagingHub, sandboxes: Sandboxes,
) -> None:
    first, second = messaging_hub(), messaging_hub()
    connectors: list[Any] = [h.connector(c, actor="test") for h in (first, second)
                             for c in ("dingtalk", "wecom")]
    assert {id(c.token_cache) for c in connectors} == {id(first.token_cache),
                                                        id(second.token_cache)}
    assert not hasattr(first.connector("crm", actor="test"), "token_cache")
    for connector in connectors:
        async with connector:
            assert (await connector.check()).ok
    # DingTalk hands back its live token; WeCom issues one per gettoken: one each, for both.
    assert sandboxes.wecom.counters["tokens_issued"] == 2  # check() always fetches fresh
    async with second.connector("wecom", actor="test") as wecom:
        token = await wecom.auth().token()
    assert token.access_token.get_secret_value() in sandboxes.wecom.issued_tokens()
    assert sandboxes.wecom.counters["tokens_issued"] == 2  # read from the store, not fetched
