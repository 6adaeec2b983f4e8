"""The crm connector against its sandbox over real HTTP on loopback."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from connectors.crm.connector import CrmConnector
from connectors.sdk import AuthError, RateLimitedError
from connectors.sdk.http import CallRecord


def connector(sandbox: Any, *, api_key: str | None = None, calls: list[CallRecord] | None = None,
              **config: Any) -> CrmConnector:
    return CrmConnector.from_dict(
        {"base_url": sandbox.url, "api_key": api_key or sandbox.api_key, **config},
        connection="crm", on_call=calls.append if calls is not None else None)


def faults(sandbox: Any, **fault: Any) -> None:
    httpx.post(f"{sandbox.url}/_sandbox/faults", json=fault).raise_for_status()


def requests_seen(sandbox: Any) -> list[dict[str, Any]]:
    return [r for r in httpx.get(f"{sandbox.url}/_sandbox/requests").json()
            if r["path"].startswith("/api/v1/")]


async def read_all(crm: CrmConnector, state: str | None = None) -> tuple[list[dict], str | None]:
    records: list[dict[str, Any]] = []
    async for batch in crm.read("customers", state=state):
        records.extend(batch.records)
        state = batch.state
    return records, state


async def test_check__ok_with_good_key(crm_sandbox: Any) -> None:
    async with connector(crm_sandbox) as crm:
        result = await crm.check()
    assert result.ok and result.latency_ms is not None


async def test_check__wrong_key_is_reachable_but_not_authenticated(crm_sandbox: Any) -> None:
    async with connector(crm_sandbox, api_key="wrong-key-123") as crm:
        result = await crm.check()
    assert result.reachable and not result.authenticated
    assert "invalid_api_key" in (result.detail or "")


async def test_read__wrong_key_raises_clear_auth_error_without_the_key(crm_sandbox: Any) -> None:
    async with connector(crm_sandbox, api_key="wrong-key-123") as crm:
        with pytest.raises(AuthError) as caught:
            await read_all(crm)
    message = str(caught.value)
    assert message == ("connection 'crm', customers.list: API key is missing or invalid "
                       "(HTTP 401 invalid_api_key)")
    assert "wrong-key-123" not in message


async def test_read__pages_to_the_end_without_duplicates_or_gaps(crm_sandbox: Any) -> None:
    async with connector(crm_sandbox, page_size=25) as crm:
        records, state = await read_all(crm)
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == len(crm_sandbox.state.customers)
    assert state == max(r["updated_at"] for r in records)
    assert len(requests_seen(crm_sandbox)) == 5  # 120 customers in pages of 25


async def test_read__incremental_from_state_returns_only_changes(crm_sandbox: Any) -> None:
    async with connector(crm_sandbox, page_size=50) as crm:
        _, state = await read_all(crm)
        changed = crm_sandbox.state.update_customer("C000007", {"name": "赵新名"})
        records, new_state = await read_all(crm, state)
    ids = {r["id"] for r in records}
    assert changed["id"] in ids
    # Boundary records (updated at exactly `state`) may repeat; nothing older comes back.
    assert all(r["updated_at"] >= state for r in records)
    assert new_state == changed["updated_at"]


async def test_find_customer__by_messy_mobile_and_by_email(crm_sandbox: Any) -> None:
    target = next(c for c in crm_sandbox.state.customers if c["contact"]["email"])
    digits = "".join(ch for ch in target["contact"]["mobile"] if ch.isdigit())[-11:]
    async with connector(crm_sandbox) as crm:
        by_mobile = await crm.find_customer(mobile=f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}")
        by_email = await crm.find_customer(email=target["contact"]["email"].upper())
        nobody = await crm.find_customer(mobile="13900000000")
    assert by_mobile is not None and by_mobile["id"] == target["id"]
    assert by_email is not None and by_email["id"] == target["id"]
    assert nobody is None


async def test_customer_history__orders_and_interactions(crm_sandbox: Any) -> None:
    async with connector(crm_sandbox) as crm:
        history = await crm.customer_history("C000003")
    assert history["customer_id"] == "C000003"
    assert {"orders", "interactions"} <= history.keys()


async def test_read__retries_503_from_the_sandbox(crm_sandbox: Any) -> None:
    faults(crm_sandbox, status=503, count=2)
    calls: list[CallRecord] = []
    async with connector(crm_sandbox, page_size=1000, calls=calls) as crm:
        records, _ = await read_all(crm)
    assert len(records) == 120
    assert [c.status for c in calls] == [503, 503, 200]
    assert [r["status"] for r in requests_seen(crm_sandbox)] == [503, 503, 200]


async def test_read__honours_retry_after_from_the_sandbox(crm_sandbox: Any) -> None:
    faults(crm_sandbox, status=429, count=1, retry_after="1")
    async with connector(crm_sandbox, page_size=1000) as crm:
        await read_all(crm)
    seen = requests_seen(crm_sandbox)
    assert [r["status"] for r in seen] == [429, 200]
    assert seen[1]["at"] - seen[0]["at"] >= 0.95


async def test_read__retry_after_longer_than_the_cap_is_cut_short(crm_sandbox: Any) -> None:
    faults(crm_sandbox, status=429, count=1, retry_after="120")
    async with connector(crm_sandbox, page_size=1000, max_retry_after=0.2) as crm:
        await read_all(crm)
    seen = requests_seen(crm_sandbox)
    assert [r["status"] for r in seen] == [429, 200]
    assert 0.15 <= seen[1]["at"] - seen[0]["at"] < 60


async def test_read__persistent_429_surfaces_as_rate_limited(crm_sandbox: Any) -> None:
    faults(crm_sandbox, status=429, count=10, retry_after="0")
    async with connector(crm_sandbox, max_attempts=3) as crm:
        with pytest.raises(RateLimitedError):
            await read_all(crm)
    assert len(requests_seen(crm_sandbox)) == 3


async def test_calls__never_log_or_record_the_api_key(
    crm_sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    calls: list[CallRecord] = []
    async with connector(crm_sandbox, calls=calls) as crm:
        await read_all(crm)
        await crm.customer_history("C000001")
        assert crm_sandbox.api_key not in repr(crm.config)
    assert calls
    assert crm_sandbox.api_key not in caplog.text
    assert all(crm_sandbox.api_key not in repr(c) for c in calls)
