"""The CRM sandbox over real loopback HTTP: the contract its connector is written against."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.crm.sandbox import CrmSandbox, create_app, normalize_mobile
from connectors.sdk.sandbox import serve

pytestmark = pytest.mark.slow

KEY = "sandbox-crm-key"


class _CurrentApp:
    """One server for the module, a fresh app per test: a server takes ~0.2 s to stop."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[_CurrentApp, str]]:
    current = _CurrentApp()
    with serve(current) as url:
        yield current, url


@pytest.fixture
def sandbox_url(server: tuple[_CurrentApp, str]) -> tuple[CrmSandbox, str]:
    current, url = server
    app = create_app(customers=200, seed=7)
    current.app = app
    return app.state.sandbox, url


@pytest.fixture
def sandbox(sandbox_url: tuple[CrmSandbox, str]) -> CrmSandbox:
    return sandbox_url[0]


@pytest.fixture
def api(sandbox_url: tuple[CrmSandbox, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_url[1], headers={"X-API-Key": KEY}) as client:
        yield client


@pytest.fixture
def control(sandbox_url: tuple[CrmSandbox, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_url[1]) as client:
        yield client


def _all_pages(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    records, cursor = [], None
    while True:
        body = api.get(
            "/api/v1/customers", params={**params, **({"cursor": cursor} if cursor else {})}
        ).json()
        records += body["data"]
        cursor = body["next_cursor"]
        assert (cursor is not None) == body["has_more"]
        if not body["has_more"]:
            return records


def _ordered(customers: list[dict[str, Any]]) -> list[str]:
    key = lambda c: (datetime.fromisoformat(c["updated_at"]), c["id"])  # noqa: E731
    return [c["id"] for c in sorted(customers, key=key)]


# serve()


def test_serve__yields_loopback_url_and_stops_on_exit() -> None:
    with serve(create_app(customers=3)) as url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert httpx.get(f"{url}/_sandbox/requests").json() == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_sandbox/requests")


def test_serve__runs_several_at_once() -> None:
    with (
        serve(create_app(customers=3, seed=1)) as one,
        serve(create_app(customers=3, seed=2)) as two,
    ):
        assert one != two
        names = [
            httpx.get(f"{u}/api/v1/customers/C000001", headers={"X-API-Key": KEY}).json()["name"]
            for u in (one, two)
        ]
        assert len(names) == 2


def test_serve__works_from_a_thread_without_event_loop() -> None:
    statuses: list[int] = []

    def run() -> None:
        with serve(create_app(customers=3)) as url:
            statuses.append(httpx.get(f"{url}/_sandbox/requests").status_code)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert statuses == [200]


# auth


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong-key-123"}, {"X-API-Key": ""}])
def test_auth__missing_or_wrong_key_is_401(control: httpx.Client, headers: dict[str, str]) -> None:
    for path in (
        "/api/v1/customers",
        "/api/v1/customers/C000001",
        "/api/v1/customers/C000001/history",
    ):
        response = control.get(path, headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "error": {"code": "invalid_api_key", "message": "API key is missing or invalid"}
        }
        assert "wrong-key-123" not in response.text


def test_auth__control_routes_need_no_key(control: httpx.Client) -> None:
    assert control.get("/_sandbox/requests").status_code == 200


# listing and paging


def test_list__pages_to_the_end_with_no_duplicate_or_gap(
    api: httpx.Client, sandbox: CrmSandbox
) -> None:
    updated = [c["updated_at"] for c in sandbox.customers]
    assert len(set(updated)) < len(updated), "the data must have ties on updated_at"
    records = _all_pages(api, limit=7)
    assert [c["id"] for c in records] == _ordered(sandbox.customers)


def test_list__pages_of_one_step_through_ties(api: httpx.Client, sandbox: CrmSandbox) -> None:
    assert [c["id"] for c in _all_pages(api, limit=1)] == _ordered(sandbox.customers)


def test_list__default_limit_is_100(api: httpx.Client) -> None:
    body = api.get("/api/v1/customers").json()
    assert len(body["data"]) == 100
    assert body["has_more"] is True


def test_list__last_page_has_null_cursor(api: httpx.Client) -> None:
    body = api.get("/api/v1/customers", params={"limit": 1000}).json()
    assert len(body["data"]) == 200
    assert body == body | {"next_cursor": None, "has_more": False}


def test_list__updated_since_keeps_records_at_or_after_it(
    api: httpx.Client, sandbox: CrmSandbox
) -> None:
    pivot = sorted(sandbox.customers, key=lambda c: c["updated_at"])[150]["updated_at"]
    expected = [c for c in sandbox.customers if c["updated_at"] >= pivot]
    records = _all_pages(api, limit=9, updated_since=pivot)
    assert [c["id"] for c in records] == _ordered(expected)
    # The same instant written in UTC selects the same records.
    in_utc = datetime.fromisoformat(pivot).astimezone(
        datetime.fromisoformat("2026-01-01T00:00:00Z").tzinfo
    )
    assert _all_pages(api, limit=50, updated_since=in_utc.isoformat()) == records
    # A fraction of a second later excludes records at exactly the pivot second.
    later = (datetime.fromisoformat(pivot) + timedelta(milliseconds=1)).isoformat()
    assert all(c["updated_at"] > pivot for c in _all_pages(api, updated_since=later))


@pytest.mark.parametrize("limit", ["0", "1001", "-5", "ten", "1.5", ""])
def test_list__limit_outside_1_to_1000_is_400(api: httpx.Client, limit: str) -> None:
    response = api.get("/api/v1/customers", params={"limit": limit})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_parameter",
            "message": "limit must be between 1 and 1000",
            "field": "limit",
        }
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cursor", "not-a-cursor"),
        ("cursor", "!!!"),
        ("updated_since", "yesterday"),
        ("updated_since", "2026-10-01T00:00:00"),  # no offset
        ("updated_since", "2026-10-01"),
    ],
)
def test_list__malformed_parameter_is_400(api: httpx.Client, field: str, value: str) -> None:
    response = api.get("/api/v1/customers", params={field: value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_parameter", field)


# lookups


def test_lookup__by_mobile_matches_messy_spellings(api: httpx.Client, sandbox: CrmSandbox) -> None:
    messy = [c for c in sandbox.customers if not c["contact"]["mobile"].isdigit()]
    assert len(messy) > 5, "about 10% of mobiles are written messily"
    customer = messy[0]
    digits = normalize_mobile(customer["contact"]["mobile"])
    assert re.fullmatch(r"1[35789]\d{9}", digits)
    for spelling in (digits, f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}", f"86{digits}"):
        data = api.get("/api/v1/customers", params={"mobile": spelling}).json()["data"]
        assert [c["id"] for c in data] == [customer["id"]]


def test_lookup__by_email_is_case_insensitive(api: httpx.Client, sandbox: CrmSandbox) -> None:
    customer = next(c for c in sandbox.customers if c["contact"]["email"])
    data = api.get(
        "/api/v1/customers", params={"email": customer["contact"]["email"].upper()}
    ).json()
    assert [c["id"] for c in data["data"]] == [customer["id"]]


def test_lookup__no_match_is_an_empty_page(api: httpx.Client) -> None:
    body = api.get("/api/v1/customers", params={"mobile": "10000000000"}).json()
    assert body == {"data": [], "next_cursor": None, "has_more": False}


def test_get__returns_the_customer_or_404(api: httpx.Client, sandbox: CrmSandbox) -> None:
    assert api.get("/api/v1/customers/C000042").json() == sandbox.find_customer("C000042")
    response = api.get("/api/v1/customers/C999999")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "customer C999999 not found"}
    }


# history


def test_history__is_consistent_newest_first_and_deterministic(
    api: httpx.Client, sandbox: CrmSandbox
) -> None:
    histories = [
        api.get(f"/api/v1/customers/{c['id']}/history").json() for c in sandbox.customers[:40]
    ]
    assert any(h["orders"] for h in histories) and any(h["interactions"] for h in histories)
    for customer, history in zip(sandbox.customers, histories, strict=False):
        assert history["customer_id"] == customer["id"]
        assert 0 <= len(history["orders"]) <= 6 and 0 <= len(history["interactions"]) <= 5
        times = [o["ordered_at"] for o in history["orders"]]
        assert times == sorted(times, reverse=True)
        at = [i["at"] for i in history["interactions"]]
        assert at == sorted(at, reverse=True)
        for when in times + at:
            assert customer["created_at"] <= when <= "2026-11-01T00:00:00+08:00"
        for order in history["orders"]:
            assert order["currency"] == "CNY"
            assert Decimal(order["total"]) == sum(
                Decimal(i["unit_price"]) * i["qty"] for i in order["items"]
            )
            assert re.fullmatch(r"\d+\.\d\d", order["total"])
    again = create_app(customers=200, seed=7).state.sandbox.history("C000001")
    assert histories[0] == again


def test_history__unknown_customer_is_404(api: httpx.Client) -> None:
    assert api.get("/api/v1/customers/C999999/history").status_code == 404


def test_history__each_kind_is_a_listing_of_its_own(
    api: httpx.Client, sandbox: CrmSandbox
) -> None:
    customer = next(c for c in sandbox.customers
                    if (h := sandbox.history(c["id"])) and h["orders"] and h["interactions"])
    history = api.get(f"/api/v1/customers/{customer['id']}/history").json()
    for kind in ("orders", "interactions"):
        answer = api.get(f"/api/v1/customers/{customer['id']}/{kind}")
        assert answer.status_code == 200 and answer.json() == {"data": history[kind]}
    assert api.get(f"/api/v1/customers/{customer['id']}/invoices").status_code == 404
    assert api.get("/api/v1/customers/C999999/orders").status_code == 404


def test_requests_per_customer__counts_finds_profiles_and_listings(
    api: httpx.Client, control: httpx.Client, sandbox: CrmSandbox
) -> None:
    first, second = sandbox.customers[0], sandbox.customers[1]
    api.get("/api/v1/customers", params={"mobile": first["contact"]["mobile"]})
    api.get("/api/v1/customers", params={"mobile": "13000000000"})  # matches nobody
    api.get("/api/v1/customers", params={"limit": 5})  # a listing, not a find
    for path in ("orders", "orders", "interactions", "history"):
        api.get(f"/api/v1/customers/{first['id']}/{path}")
    api.get(f"/api/v1/customers/{second['id']}")
    api.get(f"/api/v1/customers/{second['id']}/orders")
    assert control.get("/_sandbox/requests/per-customer").json() == {
        first["id"]: {"find": 1, "orders": 2, "interactions": 1, "history": 1},
        second["id"]: {"profile": 1, "orders": 1},
    }
    control.delete("/_sandbox/requests")
    assert control.get("/_sandbox/requests/per-customer").json() == {}


# faults


def test_faults__503_for_the_next_count_requests_then_recovers(
    api: httpx.Client, control: httpx.Client
) -> None:
    control.post("/_sandbox/faults", json={"status": 503, "count": 2}).raise_for_status()
    statuses = [api.get("/api/v1/customers/C000001").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_faults__429_carries_retry_after(api: httpx.Client, control: httpx.Client) -> None:
    control.post("/_sandbox/faults", json={"status": 429, "retry_after": "1"}).raise_for_status()
    response = api.get("/api/v1/customers")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "rate_limited"


def test_faults__answer_before_auth_and_are_logged(control: httpx.Client) -> None:
    control.post("/_sandbox/faults", json={}).raise_for_status()
    response = control.get("/api/v1/customers")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert [r["status"] for r in control.get("/_sandbox/requests").json()] == [503]


def test_faults__only_hit_paths_under_their_prefix(
    api: httpx.Client, control: httpx.Client
) -> None:
    control.post("/_sandbox/faults", json={"path_prefix": "/api/v1/customers/C000002"})
    assert api.get("/api/v1/customers/C000001").status_code == 200
    assert api.get("/api/v1/customers/C000002/history").status_code == 503


def test_faults__latency_delays_every_request_until_reset(
    api: httpx.Client, control: httpx.Client
) -> None:
    control.post("/_sandbox/faults", json={"latency_ms": 300}).raise_for_status()
    for _ in range(2):
        assert api.get("/api/v1/customers/C000001").status_code == 200
    # What the sandbox says it waited, not a wall-clock bound (timing belongs in bench/).
    logged = control.get("/_sandbox/requests").json()
    assert [r["delayed_ms"] for r in logged[-2:]] == [300, 300]
    assert control.delete("/_sandbox/faults").status_code == 204
    # The reset is read back from the sandbox's state, not timed: an upper bound on wall
    # time would fail on a loaded machine. (latency_ms 0 reports the state, changes nothing.)
    state = control.post("/_sandbox/faults", json={"latency_ms": 0}).json()
    assert state["latency_ms"] == 0


# mutations


def test_mutation__overwrites_fields_and_sorts_last(
    api: httpx.Client, control: httpx.Client
) -> None:
    records = _all_pages(api, limit=1000)
    newest = records[-1]
    tied = [c["id"] for c in records if c["updated_at"] == newest["updated_at"]]
    response = control.post("/_sandbox/customers/C000010", json={"name": "王芳芳"})
    updated = response.json()
    assert (response.status_code, updated["name"]) == (200, "王芳芳")
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(
        newest["updated_at"]
    )
    page = api.get("/api/v1/customers", params={"updated_since": newest["updated_at"]}).json()
    assert [c["id"] for c in page["data"]] == [*tied, "C000010"]
    assert [c["id"] for c in _all_pages(api, limit=13)][-1] == "C000010"


def test_mutation__new_contact_is_found_by_lookup(api: httpx.Client, control: httpx.Client) -> None:
    old_mobile = api.get("/api/v1/customers/C000003").json()["contact"]["mobile"]
    contact = {"mobile": "+86 199-0000-1111", "email": "Fang.Wang@Example.cn"}
    control.post("/_sandbox/customers/C000003", json={"contact": contact}).raise_for_status()
    for params in ({"mobile": "19900001111"}, {"email": "fang.wang@example.cn"}):
        assert [c["id"] for c in api.get("/api/v1/customers", params=params).json()["data"]] == [
            "C000003"
        ]
    assert api.get("/api/v1/customers", params={"mobile": old_mobile}).json()["data"] == []


def test_mutation__unknown_customer_is_404(control: httpx.Client) -> None:
    assert control.post("/_sandbox/customers/C999999", json={"name": "x"}).status_code == 404


def test_create__adds_the_next_id_sorted_last(api: httpx.Client, control: httpx.Client) -> None:
    response = control.post("/_sandbox/customers", json={"name": "赵敏", "level": "银卡"})
    created = response.json()
    assert (response.status_code, created["id"], created["name"]) == (201, "C000201", "赵敏")
    assert _all_pages(api, limit=1000)[-1] == created


# request log


def test_request_log__records_every_api_request_without_headers(
    api: httpx.Client, control: httpx.Client, sandbox: CrmSandbox
) -> None:
    api.get("/api/v1/customers", params={"limit": 5})
    control.get("/api/v1/customers/C000001", headers={"X-API-Key": "leaked-secret"})
    log = control.get("/_sandbox/requests").json()
    assert [(r["method"], r["path"], r["query"], r["status"]) for r in log] == [
        ("GET", "/api/v1/customers", {"limit": "5"}, 200),
        ("GET", "/api/v1/customers/C000001", {}, 401),
    ]
    assert all(set(r) == {"method", "path", "query", "status", "at", "delayed_ms"} for r in log)
    assert "leaked-secret" not in str(log) and KEY not in str(log)
    assert sandbox.requests == log
    assert control.delete("/_sandbox/requests").status_code == 204
    assert control.get("/_sandbox/requests").json() == []


# data


def test_data__is_deterministic_and_realistic(sandbox: CrmSandbox) -> None:
    again = create_app(customers=200, seed=7).state.sandbox.customers
    assert again == sandbox.customers
    assert create_app(customers=200, seed=8).state.sandbox.customers != again
    mobiles = [normalize_mobile(c["contact"]["mobile"]) for c in again]
    assert len(set(mobiles)) == 200 and all(re.fullmatch(r"1[35789]\d{9}", m) for m in mobiles)
    emails = [c["contact"]["email"].lower() for c in again if c["contact"]["email"]]
    assert len(set(emails)) == len(emails) and 110 <= len(emails) <= 170
    assert {c["level"] for c in again} <= {"普通", "银卡", "金卡", "钻石"}
    assert all(re.fullmatch(r"C\d{6}", c["id"]) for c in again)
    assert all(c["created_at"] < c["updated_at"] <= "2026-11-01T00:00:00+08:00" for c in again)
