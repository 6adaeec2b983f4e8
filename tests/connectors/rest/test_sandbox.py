"""The rest sandbox itself: seeded articles, filters, paging styles, idempotent create, log."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.rest.sandbox import STYLES
from connectors.rest.sandbox.seed import generate_articles


def get(sandbox: Any, path: str, *, key: str | None = None, **params: Any) -> httpx.Response:
    headers = {"X-API-Key": sandbox.api_key if key is None else key}
    return httpx.get(f"{sandbox.url}{path}", params=params, headers=headers)


def post(sandbox: Any, body: dict[str, Any], idempotency_key: str | None = None
         ) -> httpx.Response:
    headers = {"X-API-Key": sandbox.api_key}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return httpx.post(f"{sandbox.url}/articles", json=body, headers=headers)


def test_seed__deterministic_chinese_articles_with_shared_times() -> None:
    articles = generate_articles(60, seed=11)
    assert articles == generate_articles(60, seed=11)
    assert all(a["updated_at"].endswith("+08:00") for a in articles)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in a["title"]) for a in articles)
    times = [a["updated_at"] for a in articles]
    assert times == sorted(times) and times[-1] == times[-2]
    assert len(set(times)) <= len(times) - 5  # several ties, not just the last pair


@pytest.mark.parametrize("style", STYLES)
def test_listing__needs_the_api_key(rest_sandbox: Any, style: str) -> None:
    response = get(rest_sandbox, f"/{style}/articles", key="nope")
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "invalid_api_key",
                                         "message": "API key is missing or invalid"}}
    assert rest_sandbox.requests()[-1]["status"] == 401


def test_listing__updated_since_is_inclusive_and_ordered(rest_sandbox: Any) -> None:
    rows = rest_sandbox.state.listing()
    boundary = rows[-2]["updated_at"]
    body = get(rest_sandbox, "/offset/articles", updated_since=boundary).json()
    at_boundary = [a["id"] for a in rows if a["updated_at"] == boundary]
    assert [a["id"] for a in body["items"]] == at_boundary and len(at_boundary) >= 2
    assert [(a["updated_at"], a["id"]) for a in rows] == sorted(
        (a["updated_at"], a["id"]) for a in rows)


@pytest.mark.parametrize(("params", "message"), [
    ({"updated_since": "2026-03-01T09:00:00"}, "updated_since must be an ISO-8601"),
    ({"updated_since": "yesterday"}, "updated_since must be an ISO-8601"),
    ({"limit": "0"}, "limit must be between 1 and 100"),
    ({"cursor": "!!!"}, "cursor is malformed"),
])
def test_listing__bad_parameters_are_400(rest_sandbox: Any, params: dict[str, str],
                                         message: str) -> None:
    response = get(rest_sandbox, "/cursor/articles", **params)
    assert response.status_code == 400 and response.json()["error"]["message"].startswith(message)


def test_page_number__reports_totals(rest_sandbox: Any) -> None:
    body = get(rest_sandbox, "/page-number/articles", page=2, page_size=25).json()
    assert (body["page"], body["total"], body["total_pages"], len(body["data"])) == (2, 60, 3, 25)


def test_cursor_styles__say_where_the_next_page_is(rest_sandbox: Any) -> None:
    last = get(rest_sandbox, "/cursor/articles", limit=60).json()
    assert last["has_more"] is False and last["next_cursor"]  # has_more tells, not the cursor
    assert "X-Next-Cursor" in get(rest_sandbox, "/header-cursor/articles", limit=5).headers
    link = get(rest_sandbox, "/link/articles", limit=5).headers["Link"]
    assert link.startswith(f"<{rest_sandbox.url}/link/articles?") and link.endswith(
        '>; rel="next"')
    assert "Link" not in get(rest_sandbox, "/link/articles", limit=60).headers
    assert get(rest_sandbox, "/next-url/articles", limit=60).json()["next"] is None


def test_quirks__repeat_cursor_and_foreign_origin(rest_sandbox: Any) -> None:
    httpx.post(f"{rest_sandbox.url}/_sandbox/quirks",
               json={"repeat_cursor": True, "next_origin": "http://elsewhere.test"})
    first = get(rest_sandbox, "/next-url/articles", limit=5).json()["next"]
    assert first.startswith("http://elsewhere.test/next-url/articles?")
    cursor = get(rest_sandbox, "/cursor/articles", limit=5).json()["next_cursor"]
    assert get(rest_sandbox, "/cursor/articles", limit=5, cursor=cursor).json()[
        "next_cursor"] == cursor


def test_create__idempotency_key_replays_the_first_result(rest_sandbox: Any) -> None:
    body = {"title": "会员积分过期规则", "labels": ["会员"]}
    first = post(rest_sandbox, body, "k-1")
    again = post(rest_sandbox, body, "k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and first.json()["data"]["id"] == "KB0061"
    assert len(rest_sandbox.state.articles) == 61
    reused = post(rest_sandbox, {"title": "另一篇"}, "k-1")
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


def test_create__duplicate_title_is_a_200_with_an_error_code(rest_sandbox: Any) -> None:
    post(rest_sandbox, {"title": "保修期查询"})
    response = post(rest_sandbox, {"title": "保修期查询"})
    assert response.status_code == 200 and response.json()["code"] == 40901


def test_update__bumps_updated_at_past_every_article(rest_sandbox: Any) -> None:
    newest = rest_sandbox.state.listing()[-1]["updated_at"]
    response = httpx.patch(f"{rest_sandbox.url}/articles/KB0001", json={"title": "新标题"},
                           headers={"X-API-Key": rest_sandbox.api_key})
    article = response.json()["data"]
    assert article["title"] == "新标题" and article["updated_at"] > newest
    assert rest_sandbox.state.listing()[-1]["id"] == "KB0001"
    missing = httpx.patch(f"{rest_sandbox.url}/articles/KB9999", json={},
                          headers={"X-API-Key": rest_sandbox.api_key})
    assert missing.status_code == 404


def test_controls__touch_and_back_dated_add(rest_sandbox: Any) -> None:
    touched = httpx.post(f"{rest_sandbox.url}/_sandbox/articles/KB0002", json={}).json()
    assert rest_sandbox.state.listing()[-1]["id"] == touched["id"] == "KB0002"
    late = httpx.post(f"{rest_sandbox.url}/_sandbox/articles",
                      json={"title": "迟到的文章", "updated_at": "2026-03-01T09:00:00+08:00"})
    assert late.status_code == 201 and rest_sandbox.state.listing()[0]["id"] == "KB0061"
    assert rest_sandbox.requests() == []  # controls are not logged as API traffic
