"""The confluence connector against its sandbox over real loopback HTTP."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from connectors.confluence.client import (
    PageTitleTakenError,
    VersionConflictError,
    article_cql,
    cql_date,
)
from connectors.confluence.connector import ConfluenceConnector
from connectors.sdk import RejectedError
from connectors.sdk.http import CallRecord
from connectors.sdk.testing import capture_logs

from .conftest import EMAIL, TOKEN, Site

_BODY = "<h2>处理步骤</h2><ol><li>重启路由器</li><li>重新配网</li></ol>"


async def read_all(kb: ConfluenceConnector, state: str | None = None
                   ) -> tuple[list[dict[str, Any]], str | None]:
    records: list[dict[str, Any]] = []
    async for batch in kb.read("articles", state=state):
        records.extend(batch.records)
        state = batch.state
    return records, state


async def test_read__pages_through_cql_results_by_next_link(site: Site) -> None:
    async with site.connector(page_size=10) as kb:
        records, state = await read_all(kb)
    searches = [r for r in site.api_requests("GET") if r["path"].endswith("/content/search")]
    assert len(searches) == 5  # 44 articles, 10 a page
    assert all("cursor" in r["query"] for r in searches[1:])
    assert searches[0]["query"]["cql"] == 'type=page and space="KB" order by lastmodified asc'
    assert [r["id"] for r in records] == sorted(site.sandbox.ids(), key=int)
    first = records[0]
    assert first["title"] == "打印机频繁卡纸的处理方法"
    assert first["labels"] == ["打印机", "故障排除"] and "<ol>" in first["body"]
    assert first["url"] == f"{site.url}/wiki/spaces/KB/pages/{first['id']}/" + (
        "%E6%89%93%E5%8D%B0%E6%9C%BA%E9%A2%91%E7%B9%81%E5%8D%A1%E7%BA%B8%E7%9A%84%E5%A4%84"
        "%E7%90%86%E6%96%B9%E6%B3%95")
    assert first["updated_at"].endswith("+00:00") and isinstance(first["version"], int)
    assert state is not None and records[-1]["updated_at"] in state


async def test_read__incremental_picks_up_the_edited_page_only(site: Site) -> None:
    async with site.connector(page_size=10) as kb:
        _, state = await read_all(kb)
        edited = site.sandbox.edit("65550", body="<p>新的处理方法</p>")
        records, new_state = await read_all(kb, state)
    assert [(r["id"], r["version"], r["body"]) for r in records] == [
        ("65550", edited.version, "<p>新的处理方法</p>")]
    since = site.api_requests("GET")[-1]["query"]["cql"]
    assert 'lastmodified >= "' in since  # asked from the saved cursor, not from the start
    async with site.connector(page_size=10) as kb:
        again, _ = await read_all(kb, new_state)
    assert again == []  # the boundary minute is re-read, and deduplicated


@pytest.mark.parametrize(("instant", "zone", "expected"), [
    ("2026-09-03T06:52:59.999+00:00", "UTC", "2026/09/03 06:52"),
    ("2026-09-03T06:52:08+00:00", "Asia/Shanghai", "2026/09/03 14:52"),
    ("2026-12-31T23:59:00+08:00", "UTC", "2026/12/31 15:59"),
])
def test_cql_date__floors_to_the_minute_in_the_account_zone(
    instant: str, zone: str, expected: str
) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    assert cql_date(datetime.fromisoformat(instant), ZoneInfo(zone)) == expected


def test_article_cql__quotes_values_and_ands_the_extra_filter() -> None:
    cql = article_cql('K"B', since="2026/09/03 14:52", extra='label = "faq"')
    assert cql == ('type=page and space="K\\"B" and lastmodified >= "2026/09/03 14:52" '
                   'and (label = "faq") order by lastmodified asc')


async def test_read__extra_cql_filters_and_time_zone_is_honoured(site: Site) -> None:
    async with site.connector(cql='label = "发票"', time_zone="Asia/Shanghai",
                              lookback_seconds=0) as kb:
        records, _ = await read_all(kb)
        assert {r["title"] for r in records} == {
            "如何申请增值税专用发票", "电子普通发票的下载方法", "发票抬头填错了怎么办"}
        middle = records[1]
        later, _ = await read_all(kb, middle["updated_at"])
    assert [r["id"] for r in later] == [r["id"] for r in records[1:]]


async def test_create_page__creates_with_labels_and_finds_it_by_title(site: Site) -> None:
    async with site.connector() as kb:
        created = await kb.create_page("路由器断网的排查", _BODY, ["网络", "FAQ"])
        found = await kb.find_page(title="路由器断网的排查")
        missing = await kb.find_page(title="不存在的文章")
    assert found == created and missing is None
    assert created["labels"] == ["网络", "FAQ"] and created["version"] == 1


async def test_create_page__lost_response_creates_exactly_one_page(site: Site) -> None:
    site.faults.lose_next(method="POST", path_prefix="/wiki/rest/api/content")
    async with site.connector() as kb:
        created = await kb.create_page("路由器断网的排查", _BODY, ["网络"])
    pages = [p for p in site.sandbox.store.pages() if p.title == "路由器断网的排查"]
    assert len(pages) == 1 and created["id"] == pages[0].id
    assert pages[0].labels == ["网络"]
    creates = [r for r in site.api_requests("POST") if r["path"].endswith("/content")]
    assert len(creates) == 1  # found by title: never sent twice


async def test_create_page__lost_response_before_commit_sends_it_again(site: Site) -> None:
    site.faults.drop_next(method="POST", path_prefix="/wiki/rest/api/content", reset=False)
    async with site.connector() as kb:
        created = await kb.create_page("路由器断网的排查", _BODY)
    assert [p.id for p in site.sandbox.store.pages() if p.title == "路由器断网的排查"] == [
        created["id"]]


async def test_create_page__duplicate_title_raises_a_typed_error(site: Site) -> None:
    async with site.connector() as kb:
        with pytest.raises(PageTitleTakenError) as caught:
            await kb.create_page("扫地机器人无法回充", _BODY)
    error = caught.value
    assert isinstance(error, RejectedError) and error.status == 400
    assert "already exists" in str(error) and error.record_key == "扫地机器人无法回充"
    assert str(error).startswith("connection 'kb', page.create")


async def test_update_page__stale_version_never_overwrites_a_person_s_edit(site: Site) -> None:
    async with site.connector() as kb:
        page = await kb.get_page("65540")
        site.sandbox.edit("65540", body="<p>同事的修改</p>")
        with pytest.raises(VersionConflictError) as caught:
            await kb.update_page("65540", title=page["title"], body_storage=_BODY,
                                 version=page["version"])
    assert f"moved on to version {page['version'] + 1}" in str(caught.value)
    assert caught.value.status == 409
    assert site.sandbox.store.get("65540").body == "<p>同事的修改</p>"


async def test_update_page__without_version_rereads_and_retries_once(site: Site) -> None:
    inner = site.faults.app
    edited: list[str] = []

    async def edit_before_first_put(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT" and not edited:
            edited.append(site.sandbox.edit("65541").id)  # someone saves in between
        await inner(scope, receive, send)

    site.faults.app = edit_before_first_put
    async with site.connector() as kb:
        before = await kb.get_page("65541")
        updated = await kb.update_page("65541", title="新标题", body_storage=_BODY)
    assert edited == ["65541"]
    assert updated["version"] == before["version"] + 2 and updated["body"] == _BODY
    puts = [r["status"] for r in site.api_requests("PUT")]
    assert puts == [409, 200]


async def test_update_page__lost_response_is_recognised_as_our_own_write(site: Site) -> None:
    site.faults.lose_next(method="PUT")
    async with site.connector() as kb:
        page = await kb.get_page("65542")
        updated = await kb.update_page("65542", title=page["title"], body_storage=_BODY,
                                       version=page["version"])
    assert updated["version"] == page["version"] + 1 and updated["body"] == _BODY
    assert site.sandbox.store.get("65542").version == page["version"] + 1


async def test_add_labels__adds_without_a_new_version(site: Site) -> None:
    async with site.connector() as kb:
        labels = await kb.add_labels("65537", ["热门", "打印机"])
        page = await kb.get_page("65537")
    assert labels == ["打印机", "故障排除", "热门"] and page["labels"] == labels
    assert page["version"] == 1


async def test_read__429_is_retried_after_retry_after(site: Site) -> None:
    site.sandbox.throttle(2, retry_after="0")
    async with site.connector(page_size=50) as kb:
        records, _ = await read_all(kb)
    assert len(records) == 44
    assert [r["status"] for r in site.api_requests()] == [429, 429, 200]


async def test_secrets__never_in_logs_errors_reprs_or_call_records(site: Site) -> None:
    basic = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    calls: list[CallRecord] = []
    shown: list[str] = []
    site.faults.fail_next(1, status=503)
    with capture_logs() as logs:
        async with site.connector(calls=calls) as kb:
            shown += [repr(kb), repr(kb.config), str(kb.config), repr(kb.auth())]
            await read_all(kb)
            with pytest.raises(PageTitleTakenError) as caught:
                await kb.create_page("扫地机器人无法回充", _BODY)
            shown += [str(caught.value), repr(caught.value)]
        async with site.connector(api_token="wrong-token-77aa") as bad:
            result = await bad.check()
            shown.append(result.detail or "")
    shown += [str(c) for c in calls] + [r.getMessage() for r in logs]
    text = "\n".join(shown)
    assert calls and not result.authenticated
    for secret in (TOKEN, basic, "wrong-token-77aa", "Basic "):
        assert secret not in text
