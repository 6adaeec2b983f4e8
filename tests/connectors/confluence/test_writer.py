"""`article.publish`: one Confluence page per idempotency key, against the sandbox on loopback."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from connectors.confluence._publish import key_label, label_name, reference_of
from connectors.confluence.client import PageTitleTakenError
from connectors.sdk import ConfigError, ConnectorError, RejectedError
from connectors.sdk.capabilities import Writer, WriteResult, WrittenLister
from connectors.sdk.http import CallRecord
from connectors.sdk.testing import capture_logs
from hub.config.mapping_files import MappingLibrary

from .conftest import EMAIL, TOKEN, Site

ACTION = "article.publish"
KEY = "TK000123-KB"
MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"


def doc(body: str = "<h2>问题</h2><p>路由器每天断网</p>", **extra: Any) -> dict[str, Any]:
    return {"title": "路由器每天断网的排查", "body_storage": body, "labels": ["网络", "FAQ 常见"],
            "reference": "TK-000123", **extra}


def pages_titled(site: Site, title: str) -> list[Any]:
    return [p for p in site.sandbox.store.pages() if p.title == title]


def writes(site: Site) -> list[tuple[str, int]]:
    return [(r["method"], r["status"]) for r in site.api_requests()
            if r["method"] in ("POST", "PUT") and not r["path"].endswith("/label")]


def test_labels__key_and_reference_schemes() -> None:
    assert key_label("TK000123-KB") == "hub-tk000123-kb"
    assert label_name("FAQ 常见 (新)") == "faq-常见-新"
    assert reference_of(["网络", "hub-ticket-tk-000123"]) == "TK-000123"
    assert reference_of(["网络"]) is None


async def test_write__creates_one_page_with_key_reference_and_document_labels(
        site: Site) -> None:
    steps: list[WriteResult] = []
    async with site.connector() as kb:
        assert isinstance(kb, Writer) and kb.write_actions() == [ACTION]
        assert await kb.find_written(ACTION, KEY) is None
        written = await kb.write(ACTION, KEY, doc(extra_key="dropped"), check_first=False,
                                 on_step=steps.append)
        found = await kb.find_written(ACTION, KEY)
    [page] = pages_titled(site, "路由器每天断网的排查")
    assert page.labels == ["hub-tk000123-kb", "hub-ticket-tk-000123", "网络", "faq-常见"]
    assert page.version == 1 and page.body == "<h2>问题</h2><p>路由器每天断网</p>"
    assert written == WriteResult(
        action=ACTION, key=KEY, id=page.id, number="路由器每天断网的排查", step="done",
        reference="TK-000123", url=f"{site.url}/wiki/spaces/KB/pages/{page.id}/" + (
            "%E8%B7%AF%E7%94%B1%E5%99%A8%E6%AF%8F%E5%A4%A9%E6%96%AD%E7%BD%91%E7%9A%84%E6%8E%92"
            "%E6%9F%A5"), found=False)
    assert steps == [written]
    assert found is not None and found.id == page.id and found.found
    assert found.reference == "TK-000123" and found.url == written.url
    cql = [r["query"]["cql"] for r in site.api_requests("GET")
           if r["path"].endswith("/content/search")][-1]
    assert cql == 'type=page and space="KB" and label = "hub-tk000123-kb" order by created asc'


async def test_write__changed_body_updates_the_same_page_to_version_2(site: Site) -> None:
    async with site.connector() as kb:
        first = await kb.write(ACTION, KEY, doc(), check_first=False)
        second = await kb.write(ACTION, KEY, doc("<h2>问题</h2><p>已更新</p>", title="新标题"))
    assert second.id == first.id and second.found and second.number == "新标题"
    page = site.sandbox.store.get(first.id)
    assert (page.version, page.title, page.body) == (2, "新标题", "<h2>问题</h2><p>已更新</p>")
    assert len(site.sandbox.store.pages()) == 45  # 44 seeded + ours
    assert writes(site) == [("POST", 200), ("PUT", 200)]


async def test_write__unchanged_document_makes_no_new_version(site: Site) -> None:
    async with site.connector() as kb:
        first = await kb.write(ACTION, KEY, doc(), check_first=False)
        again = await kb.write(ACTION, KEY, doc())
    assert again.id == first.id and again.found
    assert site.sandbox.store.get(first.id).version == 1
    assert writes(site) == [("POST", 200)]


async def test_write__lost_create_response_is_recovered_within_the_call(site: Site) -> None:
    site.faults.lose_next(method="POST", path_prefix="/wiki/rest/api/content")
    async with site.connector() as kb:
        written = await kb.write(ACTION, KEY, doc(), check_first=False)
    [page] = pages_titled(site, "路由器每天断网的排查")
    assert written.id == page.id and "hub-tk000123-kb" in page.labels
    assert writes(site) == [("POST", 200)]  # found by title: never sent twice


async def test_write__retry_after_a_lost_create_finds_the_page_not_a_second_one(
        site: Site) -> None:
    # The create lands, its response is lost and the lookup that follows fails too: the
    # write fails without labels on the page. The hub retries with check_first=True.
    site.faults.lose_next(method="POST", path_prefix="/wiki/rest/api/content")
    site.faults.fail_next(1, status=503, method="GET", path_prefix="/wiki/rest/api/content")
    async with site.connector(max_attempts=1) as kb:
        with pytest.raises(ConnectorError):
            await kb.write(ACTION, KEY, doc(), check_first=False)
        [orphan] = pages_titled(site, "路由器每天断网的排查")
        assert orphan.labels == []
        retried = await kb.write(ACTION, KEY, doc(), check_first=True)
        again = await kb.write(ACTION, KEY, doc(), check_first=True)
    [page] = pages_titled(site, "路由器每天断网的排查")
    assert retried.id == again.id == page.id and retried.found and again.found
    assert page.version == 1 and "hub-tk000123-kb" in page.labels
    assert writes(site) == [("POST", 200), ("POST", 400)]  # the refusal said "already there"


async def test_write__without_check_first_an_existing_keyed_page_is_updated(
        site: Site) -> None:
    async with site.connector() as kb:
        first = await kb.write(ACTION, KEY, doc(), check_first=False)
        # e.g. the search index had not seen the page yet: the create is refused by title
        second = await kb.write(ACTION, KEY, doc("<p>第二版</p>"), check_first=False)
    assert second.id == first.id and second.found
    assert site.sandbox.store.get(first.id).version == 2
    assert writes(site) == [("POST", 200), ("POST", 400), ("PUT", 200)]


async def test_write__someone_else_s_edit_in_between_is_reread_and_retried_once(
        site: Site) -> None:
    inner = site.faults.app
    edited: list[int] = []

    async def edit_before_first_put(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT" and not edited:
            page = site.sandbox.store.pages()[-1]
            edited.append(site.sandbox.edit(page.id, body="<p>同事的修改</p>").version)
        await inner(scope, receive, send)

    async with site.connector() as kb:
        first = await kb.write(ACTION, KEY, doc(), check_first=False)
        site.faults.app = edit_before_first_put
        second = await kb.write(ACTION, KEY, doc("<p>我们的新版</p>"))
    page = site.sandbox.store.get(first.id)
    assert edited == [2] and second.id == first.id
    assert (page.version, page.body) == (3, "<p>我们的新版</p>")
    assert [status for method, status in writes(site) if method == "PUT"] == [409, 200]


async def test_write__a_foreign_page_with_the_title_is_never_overwritten(site: Site) -> None:
    [theirs] = pages_titled(site, "扫地机器人无法回充")
    before = (theirs.version, theirs.body, list(theirs.labels))
    async with site.connector() as kb:
        with pytest.raises(PageTitleTakenError) as caught:
            await kb.write(ACTION, KEY, doc(title="扫地机器人无法回充"))
    assert caught.value.status == 400 and len(site.sandbox.store.pages()) == 44
    assert (theirs.version, theirs.body, theirs.labels) == before
    assert not any(r["method"] == "PUT" for r in site.api_requests())


async def test_write__bad_action_key_or_document_is_refused_before_any_write(
        site: Site) -> None:
    async with site.connector() as kb:
        with pytest.raises(ConfigError, match="article.publish"):
            await kb.write("refund.create", KEY, doc())
        with pytest.raises(RejectedError, match="no title"):
            await kb.write(ACTION, KEY, doc(title="  "))
        with pytest.raises(RejectedError, match="not 1-64"):
            await kb.write(ACTION, "TK 1/../x", doc())
        assert await kb.find_written(ACTION, "TK 1/../x") is None
    assert writes(site) == []


async def test_mapping__renders_chinese_sections_and_escapes_markup(site: Site) -> None:
    mapping = MappingLibrary(MAPPINGS).get("kb_solution_page")
    ticket = {
        "id": 123, "ticket_ref": "TK-000123", "idempotency_key": KEY,
        "resolved_at": "2026-11-23T10:00:00+08:00", "org": None, "subject": "打印机卡纸",
        "description": None, "category": None, "note": None, "customer": None,
        "refund": None, "parts": [],
        "solution": {"title": "M1136 卡纸 <急> & 处理", "problem": "纸张卡在进纸口\n每次都卡",
                     "cause": "搓纸轮老化 & 积尘", "solution": "更换 <搓纸轮组件>",
                     "product": None, "labels": ["打印机"], "reusable": True},
    }
    document = mapping(ticket)
    assert document is not None
    assert document["body_storage"] == (
        "<h2>问题</h2><p>纸张卡在进纸口<br/>每次都卡</p> <h2>原因</h2><p>搓纸轮老化 &amp; 积尘</p>"
        " <h2>解决方法</h2><p>更换 &lt;搓纸轮组件&gt;</p> <h2>适用产品</h2><p>—</p>")
    assert (document["title"], document["labels"], document["reference"]) == (
        "M1136 卡纸 <急> & 处理", ["打印机"], "TK-000123")
    async with site.connector() as kb:
        written = await kb.write(ACTION, KEY, document, check_first=False)
    page = site.sandbox.store.get(written.id)
    assert page.title == "M1136 卡纸 <急> & 处理" and "&lt;搓纸轮组件&gt;" in page.body
    assert page.labels == ["hub-tk000123-kb", "hub-ticket-tk-000123", "打印机"]


async def test_secrets__never_in_logs_errors_or_call_records_of_a_write(site: Site) -> None:
    basic = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    calls: list[CallRecord] = []
    shown: list[str] = []
    site.faults.lose_next(method="POST", path_prefix="/wiki/rest/api/content")
    site.faults.fail_next(1, status=503, method="GET", path_prefix="/wiki/rest/api/content")
    with capture_logs() as logs:
        async with site.connector(calls=calls, max_attempts=1) as kb:
            for document in (doc(), doc(title="扫地机器人无法回充")):
                with pytest.raises(ConnectorError) as caught:
                    await kb.write(ACTION, KEY, document, check_first=False)
                shown += [str(caught.value), repr(caught.value)]
            shown.append(repr(await kb.write(ACTION, KEY, doc())))
    shown += [str(c) for c in calls] + [r.getMessage() for r in logs]
    text = "\n".join(shown)
    assert calls and "扫地机器人无法回充" in text
    for secret in (TOKEN, basic, "Basic "):
        assert secret not in text


async def test_list_written__finds_ours_and_a_twin_for_the_same_ticket(site: Site) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    async with site.connector() as kb:
        lister: object = kb
        assert isinstance(lister, WrittenLister)
        ours = await kb.write(ACTION, KEY, doc(), check_first=False)
        twin = await kb.create_page("路由器断网（重复）", "<p>x</p>", ["hub-ticket-tk-000123"])
        listed = await kb.list_written(ACTION, since=since)
        later = await kb.list_written(ACTION, since=datetime.now(UTC) + timedelta(hours=1))
    assert [(r.id, r.key, r.reference) for r in listed] == [
        (ours.id, KEY, "TK-000123"), (twin["id"], "", "TK-000123")]
    assert later == []
