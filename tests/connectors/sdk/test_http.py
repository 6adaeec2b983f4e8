"""The send function at unit level (respx): retries, Retry-After, typed errors, redaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from connectors.sdk import (
    AuthError,
    HttpClient,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    RetryPolicy,
    TransientError,
)
from connectors.sdk.http import CallRecord, parse_retry_after, read_json
from connectors.sdk.ratelimit import MemoryBudgetStore, RateBudget, RateLimit
from connectors.sdk.redaction import Redactor

BASE = "https://crm.example.test"
SECRET = "s3cr3t-token-value"


def make_client(calls: list[CallRecord] | None = None, waited: list[float] | None = None,
                **policy: float) -> HttpClient:
    """A client whose waits are recorded instead of slept."""
    retry = RetryPolicy(attempts=int(policy.pop("attempts", 4)), backoff_initial=0.001,
                        backoff_max=0.01, **policy)  # type: ignore[arg-type]
    record = waited if waited is not None else []

    async def sleep(seconds: float) -> None:
        record.append(seconds)

    return HttpClient(base_url=BASE, connector="crm", connection="crm-main", retry=retry,
                      on_call=calls.append if calls is not None else None,
                      redactor=Redactor([SECRET]), sleep=sleep)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0", 0.0), ("1.5", 1.5), (None, None), ("soon", None), ("-4", 0.0)],
)
def test_parse_retry_after__delta_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after__http_date() -> None:
    now = datetime(2026, 11, 23, 8, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(7.0)


@respx.mock
async def test_send__429_honours_retry_after() -> None:
    waited: list[float] = []
    route = respx.get(f"{BASE}/items").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {"code": "slow"}}),
        httpx.Response(200, json={"ok": True}),
    ])
    calls: list[CallRecord] = []
    client = make_client(calls, waited)
    response = await client.send("GET", "/items", operation="items.list")
    assert response.json() == {"ok": True}
    assert route.call_count == 2
    assert waited == [2.0]
    assert [c.outcome for c in calls] == ["rate_limited", "ok"]
    await client.aclose()


@respx.mock
async def test_send__retry_after_is_capped() -> None:
    waited: list[float] = []
    respx.get(f"{BASE}/items").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "3600"}),
        httpx.Response(200, json={}),
    ])
    client = make_client(waited=waited, max_retry_after=5.0)
    await client.send("GET", "/items", operation="items.list")
    assert waited == [5.0]
    await client.aclose()


@respx.mock
async def test_send__5xx_retried_then_gives_up_with_transient_error() -> None:
    route = respx.get(f"{BASE}/items").mock(return_value=httpx.Response(
        503, json={"error": {"code": "unavailable", "message": "maintenance"}}))
    client = make_client(attempts=3)
    with pytest.raises(TransientError) as caught:
        await client.send("GET", "/items", operation="items.list")
    assert route.call_count == 3
    assert caught.value.status == 503
    assert "connection 'crm-main', items.list: maintenance (HTTP 503 unavailable)" == str(
        caught.value)
    await client.aclose()


@respx.mock
async def test_send__auth_error_is_not_retried() -> None:
    route = respx.get(f"{BASE}/items").mock(return_value=httpx.Response(
        401, json={"error": {"code": "invalid_api_key", "message": "API key is invalid"}}))
    client = make_client()
    with pytest.raises(AuthError) as caught:
        await client.send("GET", "/items", operation="items.list")
    assert route.call_count == 1
    assert caught.value.vendor_code == "invalid_api_key"
    await client.aclose()


@pytest.mark.parametrize(
    ("status", "body", "error_type", "code", "message"),
    [
        (400, {"error": {"code": "invalid_parameter", "message": "limit too big"}},
         RejectedError, "invalid_parameter", "limit too big"),
        (404, {"error": {"code": "not_found", "message": "no such customer"}},
         NotFoundError, "not_found", "no such customer"),
        (422, {"errcode": 40014, "errmsg": "invalid access_token"},
         RejectedError, "40014", "invalid access_token"),
        (400, {"error": "invalid_grant", "error_description": "expired"},
         RejectedError, "invalid_grant", "expired"),
    ],
)
@respx.mock
async def test_send__vendor_errors_are_typed(
    status: int, body: dict[str, object], error_type: type[Exception], code: str, message: str
) -> None:
    respx.get(f"{BASE}/items").mock(return_value=httpx.Response(status, json=body))
    client = make_client()
    with pytest.raises(error_type) as caught:
        await client.send("GET", "/items", operation="items.list")
    assert caught.value.vendor_code == code  # type: ignore[attr-defined]
    assert caught.value.message == message  # type: ignore[attr-defined]
    await client.aclose()


@respx.mock
async def test_send__write_with_lost_response_is_outcome_unknown() -> None:
    route = respx.post(f"{BASE}/refunds").mock(side_effect=httpx.ReadTimeout("timed out"))
    client = make_client()
    with pytest.raises(OutcomeUnknownError):
        await client.send("POST", "/refunds", operation="refund.create", json={"amount": 1})
    assert route.call_count == 1, "a write whose outcome is unknown must not be re-sent"
    await client.aclose()


@respx.mock
async def test_send__write_with_5xx_is_not_retried() -> None:
    route = respx.post(f"{BASE}/refunds").mock(return_value=httpx.Response(502))
    client = make_client()
    with pytest.raises(TransientError):
        await client.send("POST", "/refunds", operation="refund.create", json={})
    assert route.call_count == 1
    await client.aclose()


@respx.mock
async def test_send__write_retried_when_never_sent() -> None:
    route = respx.post(f"{BASE}/refunds").mock(side_effect=[
        httpx.ConnectError("connection refused"), httpx.Response(201, json={"id": 1})])
    client = make_client()
    response = await client.send("POST", "/refunds", operation="refund.create", json={})
    assert response.status_code == 201
    assert route.call_count == 2
    await client.aclose()


@respx.mock
async def test_send__write_with_idempotency_key_retried_after_lost_response() -> None:
    route = respx.post(f"{BASE}/refunds").mock(side_effect=[
        httpx.ReadTimeout("timed out"), httpx.Response(201, json={"id": 1})])
    client = make_client()
    response = await client.send("POST", "/refunds", operation="refund.create", json={},
                                 idempotency_key="ticket-42-refund")
    assert response.status_code == 201
    assert route.call_count == 2
    await client.aclose()


@respx.mock
async def test_send__secrets_masked_in_urls_errors_and_call_records() -> None:
    respx.get(f"{BASE}/items").mock(return_value=httpx.Response(
        403, json={"error": {"code": "denied", "message": f"token {SECRET} lacks scope"}}))
    calls: list[CallRecord] = []
    client = make_client(calls)
    with pytest.raises(AuthError) as caught:
        await client.send("GET", "/items", operation="items.list",
                          params={"access_token": SECRET, "page": 2})
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    assert "access_token=%2A%2A%2A" in calls[0].url or "access_token=***" in calls[0].url
    assert all(SECRET not in repr(call) for call in calls)
    await client.aclose()


def errcode_check(response: httpx.Response) -> TransientError | RateLimitedError | None:
    """DingTalk/WeCom style: HTTP 200 with an errcode; -1 busy, 90018 rate-limited."""
    body = response.json()
    code = body.get("errcode", 0)
    if code == -1:
        return TransientError("system busy", vendor_code="-1")
    if code == 90018:
        return RateLimitedError("too many calls", vendor_code="90018")
    return None


@respx.mock
async def test_send__vendor_retriable_body_codes_are_retried() -> None:
    route = respx.get(f"{BASE}/topapi/x").mock(side_effect=[
        httpx.Response(200, json={"errcode": -1, "errmsg": "系统繁忙"}),
        httpx.Response(200, json={"errcode": 90018, "errmsg": "调用太频繁"}),
        httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "result": 1}),
    ])
    waited: list[float] = []
    client = HttpClient(base_url=BASE, connector="dingtalk", connection="dt",
                        retry=RetryPolicy(backoff_initial=0.001), check_response=errcode_check,
                        sleep=lambda s: _record(waited, s))
    response = await client.send("GET", "/topapi/x", operation="x")
    assert response.json()["result"] == 1
    assert route.call_count == 3
    assert client.stats.retries == 2
    await client.aclose()


async def _record(waited: list[float], seconds: float) -> None:
    waited.append(seconds)


class _RefusingAuth(httpx.Auth):
    """An auth flow whose token fetch is refused, as a vendor token provider's would be."""

    async def async_auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        raise AuthError("token endpoint refused the app secret", vendor_code="40096")
        yield request  # pragma: no cover


@respx.mock
async def test_send__auth_flow_errors_are_recorded_too() -> None:
    route = respx.get(f"{BASE}/items").mock(return_value=httpx.Response(200, json={}))
    calls: list[CallRecord] = []
    client = HttpClient(base_url=BASE, connector="dingtalk", connection="dt",
                        auth=_RefusingAuth(), on_call=calls.append)
    with pytest.raises(AuthError):
        await client.send("GET", "/items", operation="items.list")
    assert route.call_count == 0
    assert [(c.outcome, c.status) for c in calls] == [("auth", None)]
    assert "40096" in (calls[0].error or "")
    await client.aclose()


@respx.mock
async def test_send__vendor_body_errors_carry_the_call_context() -> None:
    respx.get(f"{BASE}/topapi/x").mock(return_value=httpx.Response(
        200, json={"errcode": 90018, "errmsg": "调用太频繁"}))
    client = HttpClient(base_url=BASE, connector="dingtalk", connection="dt",
                        retry=RetryPolicy(attempts=1), check_response=errcode_check)
    with pytest.raises(RateLimitedError) as caught:
        await client.send("GET", "/topapi/x", operation="x.read")
    error = caught.value
    assert (error.connector, error.connection, error.operation) == ("dingtalk", "dt", "x.read")
    assert str(error).startswith("connection 'dt', x.read: too many calls")
    await client.aclose()


@respx.mock
async def test_send__vendor_body_errors_keep_their_own_operation() -> None:
    def check(_response: httpx.Response) -> RejectedError:
        return RejectedError("refused", operation="finer.op", vendor_code="1")

    respx.get(f"{BASE}/y").mock(return_value=httpx.Response(200, json={}))
    client = HttpClient(base_url=BASE, connector="dingtalk", connection="dt",
                        check_response=check)
    with pytest.raises(RejectedError) as caught:
        await client.send("GET", "/y", operation="y.read")
    assert (caught.value.connection, caught.value.operation) == ("dt", "finer.op")
    await client.aclose()


@respx.mock
async def test_send__paths_merge_under_a_base_path_once_and_keep_their_params() -> None:
    seen = respx.get(url__startswith="https://erp.example.test/api/v1/").mock(
        return_value=httpx.Response(200, json={}))
    client = HttpClient(base_url="https://erp.example.test/api/v1", connector="erp",
                        connection="erp-main")
    await client.send("GET", "/orders", operation="orders", params={"page": 1})
    await client.send("GET", "/orders", operation="orders", params={"page": 2})
    await client.send("GET", "items?kind=a", operation="items")
    await client.aclose()
    assert [str(call.request.url) for call in seen.calls] == [
        "https://erp.example.test/api/v1/orders?page=1",
        "https://erp.example.test/api/v1/orders?page=2",
        "https://erp.example.test/api/v1/items?kind=a"]


@respx.mock
@pytest.mark.parametrize("keeps", [True, False])
async def test_send__a_client_without_cookies_sends_none_back_but_masks_them(
        keeps: bool) -> None:
    session = "sess-7f3a9c0d2b"
    respx.post(f"{BASE}/login").mock(return_value=httpx.Response(
        200, json={}, headers={"Set-Cookie": f"kdservice-sessionid={session}; Path=/"}))
    after = respx.get(f"{BASE}/next").mock(return_value=httpx.Response(200, json={}))
    client = HttpClient(base_url=BASE, connector="erp", connection="erp-main", cookies=keeps)
    await client.send("POST", "/login", operation="login", retry_safe=True)
    await client.send("GET", "/next", operation="next")
    await client.aclose()
    sent = after.calls.last.request.headers.get("cookie")
    assert sent == (f"kdservice-sessionid={session}" if keeps else None)
    assert session not in Redactor().text(f"cookie {session}")  # a known credential either way


# -- read_json: orjson's speed, the standard library's answers ---------------------------------

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(_JSON_VALUES)
def test_read_json__reads_what_the_standard_library_reads(value: object) -> None:
    body = json.dumps(value, ensure_ascii=False).encode()
    assert read_json(httpx.Response(200, content=body)) == json.loads(body)


@pytest.mark.parametrize("body", [
    b'{"id": 123456789012345678901234567890}',  # past 64 bits: orjson refuses it
    b'{"amount": NaN, "limit": Infinity}',  # not JSON, but what json.loads takes
    '{"name": "张三"}'.encode("utf-16"),  # RFC 8259 allows only UTF-8; json.loads reads it
    b'{"text": "\\ud800"}',  # a lone surrogate
])
def test_read_json__what_orjson_refuses_is_read_as_the_standard_library_reads_it(
        body: bytes) -> None:
    read = read_json(httpx.Response(200, content=body))
    assert json.dumps(read) == json.dumps(json.loads(body))


@pytest.mark.parametrize("body", [b"", b"<html>busy</html>", b'{"a": 1', b"\xff\xfe\x00"])
def test_read_json__not_json_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        read_json(httpx.Response(200, content=body))


@respx.mock
async def test_send__an_attempt_the_vendor_never_saw_gives_its_budget_slot_back() -> None:
    # Two 503s (a gateway's: ASSUMED not counted by the vendor's limiter), then the call:
    # the budget is charged one slot, not three. A 429 was counted: its slot stays spent.
    respx.get(f"{BASE}/items").mock(side_effect=[
        httpx.Response(503), httpx.Response(503), httpx.Response(200, json={"ok": True})])
    respx.get(f"{BASE}/other").mock(side_effect=[
        httpx.Response(429), httpx.Response(200, json={"ok": True})])
    now = [1000.0]
    store = MemoryBudgetStore(clock=lambda: now[0])

    async def booked(path: str) -> float:
        budget = RateBudget(path, RateLimit(per_second=1, headroom=1), store)
        client = HttpClient(base_url=BASE, connector="crm", connection="crm-main",
                            retry=RetryPolicy(backoff_initial=0.001, backoff_max=0.01),
                            budget=budget)
        await client.send("GET", path, operation="items.list")
        await client.aclose()
        return await store.reserve(path, 1.0)  # how far ahead the budget is booked

    assert await booked("/items") == 1.0
    assert await booked("/other") == 2.0
