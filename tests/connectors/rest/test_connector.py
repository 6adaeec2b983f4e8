"""The rest connector, defined only as config, against the rest sandbox over loopback."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
import respx
from ruamel.yaml import YAML

from connectors.rest.connector import RestConnector
from connectors.sdk import ConfigError, RejectedError, TransientError
from connectors.sdk.http import CallRecord

PAGING = {
    # style: (paginator, records_path, static params)
    "page-number": ({"type": "page_number", "page_size": 7, "size_param": "page_size",
                     "total_pages_path": "total_pages"}, "data", {}),
    "offset": ({"type": "offset", "limit": 7, "total_path": "total"}, "items", {}),
    "cursor": ({"type": "cursor", "has_more_path": "has_more"}, "data", {"limit": 7}),
    "header-cursor": ({"type": "header_cursor", "header": "X-Next-Cursor"}, "", {"limit": 7}),
    "link": ({"type": "link"}, "", {"limit": 7}),
    "next-url": ({"type": "next_url", "next_url_path": "next"}, "results", {"limit": 7}),
}


def config(sandbox: Any, style: str = "cursor", *, lookback: float = 0,
           **extra: Any) -> dict[str, Any]:
    paginator, records_path, params = PAGING[style]
    return {
        "base_url": sandbox.url,
        "auth": {"type": "api_key", "name": "X-API-Key", "key": sandbox.api_key},
        "streams": {"articles": {
            "path": f"/{style}/articles", "params": params, "records_path": records_path,
            "paginator": paginator,
            "incremental": {"cursor_field": "updated_at", "param": "updated_since",
                            "lookback_seconds": lookback},
        }},
        "actions": {
            "article.create": {
                "path": "/articles", "idempotency_key": {"field": "external_id"},
                "success": {"status": [200, 201], "body_path": "code", "equals": 0,
                            "code_path": "code", "message_path": "message"}},
            "article.update": {"method": "PATCH", "path": "/articles/{id}"},
        },
    } | extra


def connector(data: dict[str, Any], calls: list[CallRecord] | None = None) -> RestConnector:
    return RestConnector.from_dict(data, connection="kb",
                                   on_call=calls.append if calls is not None else None)


async def read_all(rest: RestConnector, state: str | None = None
                   ) -> tuple[list[dict[str, Any]], str | None]:
    records: list[dict[str, Any]] = []
    async for batch in rest.read("articles", state=state):
        records.extend(batch.records)
        state = batch.state
    return records, state


@pytest.mark.parametrize("style", list(PAGING))
async def test_read__pages_to_the_end_then_only_the_change(rest_sandbox: Any,
                                                           style: str) -> None:
    async with connector(config(rest_sandbox, style)) as rest:
        records, state = await read_all(rest)
        assert [r["id"] for r in records] == [a["id"] for a in rest_sandbox.state.listing()]
        assert len({r["id"] for r in records}) == 60
        newest = records[-1]["updated_at"]
        changed = rest_sandbox.state.update_article("KB0007", {"title": "退款规则（新版）"})
        rest_sandbox.clear()
        again, new_state = await read_all(rest, state)
    assert again == [changed]
    assert rest_sandbox.requests()[0]["query"]["updated_since"] == newest
    assert new_state is not None and changed["updated_at"] in new_state


async def test_read__a_config_written_in_yaml(rest_sandbox: Any) -> None:
    text = f"""
base_url: {rest_sandbox.url}
auth: {{type: api_key, key: {rest_sandbox.api_key}}}
streams:
  articles:
    path: /link/articles
    params: {{limit: 25}}
    paginator: {{type: link}}
    incremental: {{cursor_field: updated_at, param: updated_since}}
"""
    async with connector(YAML(typ="safe").load(text)) as rest:
        records, state = await read_all(rest)
        rest_sandbox.state.update_article("KB0031")
        again, _ = await read_all(rest, state)
    assert len(records) == 60 and [r["id"] for r in again] == ["KB0031"]
    assert len(rest_sandbox.requests()) == 3 + 1


async def test_read__a_record_sharing_the_boundary_time_is_not_skipped(rest_sandbox: Any) -> None:
    async with connector(config(rest_sandbox, "offset")) as rest:
        records, state = await read_all(rest)
        boundary = records[-1]["updated_at"]
        assert records[-2]["updated_at"] == boundary  # the seed's last two share a second
        late = rest_sandbox.state.add_article({"title": "发票抬头修改"}, updated_at=boundary)
        again, _ = await read_all(rest, state)
    assert again == [late]


async def test_read__lookback_rereads_the_window_and_emits_only_late_writes(
        rest_sandbox: Any) -> None:
    async with connector(config(rest_sandbox, "page-number", lookback=600)) as rest:
        records, state = await read_all(rest)
        unchanged, state_after_nothing = await read_all(rest, state)
        late = rest_sandbox.state.add_article({"title": "上门安装预约"},
                                              updated_at="2026-03-01T09:05:00+08:00")
        rest_sandbox.clear()
        again, _ = await read_all(rest, state)
    newest = records[-1]["updated_at"]
    assert unchanged == [] and state_after_nothing == state
    assert again == [late]
    since = rest_sandbox.requests()[0]["query"]["updated_since"]
    assert since.endswith("+08:00") and since < newest


async def test_read__errors_name_the_connection_and_stream(rest_sandbox: Any) -> None:
    data = config(rest_sandbox, "cursor")
    data["streams"]["articles"]["records_path"] = "items"
    async with connector(data) as rest:
        with pytest.raises(ConfigError) as caught:
            await read_all(rest)
    assert str(caught.value) == ("connection 'kb', articles.list: records_path 'items' is not "
                                 "in the response (it has: data, next_cursor, has_more)")


async def test_stream__unknown_name_lists_the_configured_ones(rest_sandbox: Any) -> None:
    rest = connector(config(rest_sandbox))
    with pytest.raises(ConfigError, match="no stream 'article'; this connection has: articles"):
        rest.stream("article")
    stream = rest.stream("articles")
    assert (stream.name, stream.path, stream.primary_key, stream.replication_key) == (
        "articles", "/cursor/articles", "id", "updated_at")
    assert RestConnector.stream_names(rest.config) == ["articles"]


async def test_check__ok(rest_sandbox: Any) -> None:
    async with connector(config(rest_sandbox)) as rest:
        result = await rest.check()
    assert result.ok and result.latency_ms is not None
    assert rest_sandbox.requests()[0]["query"] == {"limit": "7"}


async def test_check__wrong_key_is_reachable_but_not_authenticated(rest_sandbox: Any) -> None:
    data = config(rest_sandbox)
    data["auth"]["key"] = "wrong-key-0000"
    async with connector(data) as rest:
        result = await rest.check()
    assert result.reachable and not result.authenticated
    assert "invalid_api_key" in (result.detail or "") and "wrong-key-0000" not in str(result)


async def test_check__wrong_records_path_is_not_ok(rest_sandbox: Any) -> None:
    data = config(rest_sandbox, "next-url")
    data["streams"]["articles"]["records_path"] = "data"
    async with connector(data) as rest:
        result = await rest.check()
    assert result.reachable and not result.ok
    assert "records_path 'data' is not in the response" in (result.detail or "")


async def test_check__unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = sock.getsockname()[1]
        async with connector({"base_url": f"http://127.0.0.1:{port}", "max_attempts": 1,
                              "streams": {"a": {"path": "/a"}}}) as rest:
            result = await rest.check()
    assert not result.reachable and not result.ok


async def test_perform__repeated_with_an_idempotency_key_creates_one_article(
        rest_sandbox: Any) -> None:
    payload = {"external_id": "ticket-881-solution", "title": "打印机卡纸的处理办法",
               "body": "先关机，再取出卡住的纸张。", "labels": ["售后"]}
    async with connector(config(rest_sandbox)) as rest:
        results = [await rest.perform("article.create", payload) for _ in range(3)]
    assert results[0]["code"] == 0 and results[0] == results[1] == results[2]
    titles = [a["title"] for a in rest_sandbox.state.articles.values()]
    assert titles.count("打印机卡纸的处理办法") == 1
    posts = rest_sandbox.requests("POST")
    assert [p["idempotency_key"] for p in posts] == ["ticket-881-solution"] * 3


async def test_perform__vendor_error_in_a_200_is_rejected_with_its_code(
        rest_sandbox: Any) -> None:
    existing = rest_sandbox.state.articles["KB0003"]["title"]
    async with connector(config(rest_sandbox)) as rest:
        with pytest.raises(RejectedError) as caught:
            await rest.perform("article.create", {"external_id": "x-1", "title": existing})
    error = caught.value
    assert (error.status, error.vendor_code, error.operation) == (200, "40901", "article.create")
    assert str(error) == (f"connection 'kb', article.create: 标题已存在: {existing} "
                          "(HTTP 200 40901)")


async def test_perform__http_error_is_rejected_with_the_vendor_code(rest_sandbox: Any) -> None:
    async with connector(config(rest_sandbox)) as rest:
        with pytest.raises(RejectedError) as caught:
            await rest.perform("article.create", {"external_id": "x-2", "title": ""})
    assert (caught.value.status, caught.value.vendor_code) == (400, "invalid_parameter")


async def test_perform__path_placeholders_from_the_payload(rest_sandbox: Any) -> None:
    async with connector(config(rest_sandbox)) as rest:
        body = await rest.perform("article.update", {"id": "KB0012", "title": "物流配送时效"})
    assert body["data"]["title"] == "物流配送时效"
    assert rest_sandbox.state.articles["KB0012"]["title"] == "物流配送时效"
    assert rest_sandbox.requests("PATCH")[0]["path"] == "/articles/KB0012"


@pytest.mark.parametrize(("action", "payload", "message"), [
    ("article.update", {"title": "x"}, "the path needs payload field 'id'"),
    ("article.update", {"id": {"nested": 1}}, "the path needs payload field 'id'"),
    ("article.create", {"title": "x"}, "the idempotency key needs payload field 'external_id'"),
    ("article.delete", {}, "no action 'article.delete'; this connection has: article.create, "
                           "article.update"),
])
async def test_perform__unusable_calls_are_config_errors_and_send_nothing(
        rest_sandbox: Any, action: str, payload: dict[str, Any], message: str) -> None:
    async with connector(config(rest_sandbox)) as rest:
        with pytest.raises(ConfigError, match=message):
            await rest.perform(action, payload)
    assert rest_sandbox.requests() == []


def respx_connector(actions: dict[str, Any], **extra: Any) -> RestConnector:
    return connector({"base_url": "https://kb.example.test/api", "check_path": "/me",
                      "actions": actions} | extra)


@respx.mock
async def test_perform__placeholders_are_url_escaped() -> None:
    route = respx.delete(url__regex=r"https://kb\.example\.test/api/articles/.*").respond(204)
    async with respx_connector({"rm": {"method": "DELETE", "path": "/articles/{id}"}}) as rest:
        assert await rest.perform("rm", {"id": "a/b c?d"}) == {}
    request = route.calls.last.request
    assert request.url.raw_path == b"/api/articles/a%2Fb%20c%3Fd" and request.content == b""


@respx.mock
async def test_perform__an_idempotent_write_is_retried_with_the_same_key() -> None:
    route = respx.post("https://kb.example.test/api/articles").mock(side_effect=[
        httpx.Response(503), httpx.Response(201, json={"id": "KB9"})])
    action = {"path": "/articles", "idempotency_key": {"header": "X-Request-Id",
                                                       "field": "ref"}}
    async with respx_connector({"create": action}) as rest:
        assert await rest.perform("create", {"ref": "r-1", "title": "t"}) == {"id": "KB9"}
    keys = [call.request.headers["X-Request-Id"] for call in route.calls]
    assert keys == ["r-1", "r-1"]


@respx.mock
async def test_perform__a_write_without_a_key_is_not_retried_blindly() -> None:
    route = respx.post("https://kb.example.test/api/articles").respond(503)
    async with respx_connector({"create": {"path": "/articles"}}) as rest:
        with pytest.raises(TransientError):
            await rest.perform("create", {"title": "t"})
    assert route.call_count == 1


@pytest.mark.parametrize(("success", "body", "ok"), [
    ({"body_path": "ok"}, {"ok": True}, True),
    ({"body_path": "ok"}, {"ok": False}, False),
    ({"body_path": "ok"}, {}, False),
    ({"body_path": "result", "equals": None}, {"result": None}, True),
    ({"body_path": "errcode", "equals": 0}, {"errcode": 0, "errmsg": "ok"}, True),
    ({"body_path": "errcode", "equals": 0}, {"errcode": 40014, "errmsg": "invalid token"},
     False),
])
@respx.mock
async def test_perform__success_predicate(success: dict[str, Any], body: dict[str, Any],
                                          ok: bool) -> None:
    respx.post("https://kb.example.test/api/x").respond(200, json=body)
    async with respx_connector({"x": {"path": "/x", "success": success}}) as rest:
        if ok:
            assert await rest.perform("x", {}) == body
        else:
            with pytest.raises(RejectedError):
                await rest.perform("x", {})


@respx.mock
async def test_perform__refusal_uses_the_common_vendor_shapes() -> None:
    respx.post("https://kb.example.test/api/x").respond(
        200, json={"errcode": 40014, "errmsg": "invalid access_token"})
    async with respx_connector({"x": {"path": "/x", "success": {"body_path": "errcode",
                                                                "equals": 0}}}) as rest:
        with pytest.raises(RejectedError) as caught:
            await rest.perform("x", {})
    assert (caught.value.vendor_code, caught.value.message) == ("40014", "invalid access_token")


@respx.mock
async def test_perform__status_outside_the_list_is_refused() -> None:
    respx.post("https://kb.example.test/api/x").respond(202, text="")
    async with respx_connector({"x": {"path": "/x", "success": {"status": [200]}}}) as rest:
        with pytest.raises(RejectedError, match=r"not a success \(expected HTTP 200\)"):
            await rest.perform("x", {})


@pytest.mark.parametrize(("auth", "header", "query"), [
    ({"type": "bearer", "token": "tok-secret-1"}, ("Authorization", "Bearer tok-secret-1"), {}),
    ({"type": "basic", "username": "kb", "password": "pw-secret-1"},
     ("Authorization", "Basic a2I6cHctc2VjcmV0LTE="), {}),
    ({"type": "api_key", "key": "key-secret-1", "name": "X-Token"},
     ("X-Token", "key-secret-1"), {}),
    ({"type": "api_key", "key": "key-secret-1", "name": "access_key", "location": "query"},
     None, {"access_key": "key-secret-1"}),
    ({"type": "none"}, None, {}),
])
@respx.mock
async def test_auth__each_kind_signs_requests_and_never_shows_the_secret(
        auth: dict[str, Any], header: tuple[str, str] | None, query: dict[str, str]) -> None:
    route = respx.get("https://kb.example.test/api/me").respond(200, json={})
    calls: list[CallRecord] = []
    rest = connector({"base_url": "https://kb.example.test/api", "check_path": "/me",
                      "auth": auth}, calls)
    async with rest:
        assert (await rest.check()).ok
    request = route.calls.last.request
    if header:
        assert request.headers[header[0]] == header[1]
    assert dict(request.url.params) == query
    secret = next((v for k, v in auth.items() if k in ("token", "password", "key")), None)
    if secret:
        assert secret not in repr(rest.auth()) and secret not in repr(rest.config)
        assert secret not in calls[0].url


@pytest.mark.parametrize(("limit", "windows"), [
    (None, []),
    ({"per_second": 5}, [(5, 1.0)]),
    ({"per_second": 0.5}, [(1, 2.0)]),
    ({"per_second": 10, "per_minute": 300}, [(10, 1.0), (300, 60.0)]),
    ({"per_minute": 1.5}, [(1, 40.0)]),
    ({"per_hour": 1000}, [(1000, 3600.0)]),
])
def test_rate_limits__as_windows(limit: dict[str, float] | None,
                                 windows: list[tuple[int, float]]) -> None:
    rest = respx_connector({}, rate_limit=limit)
    assert rest.rate_limits() == windows
