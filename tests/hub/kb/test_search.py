"""Articles in the store and Chinese-aware search, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from hub.errors import InvalidRequestError
from hub.kb import search_articles, storage_to_text, suggest_for_ticket, upsert_articles
from hub.runtime import Hub
from hub.store.models import Article


def _titles(hub: Hub, query: str, limit: int = 5) -> list[str]:
    return [hit.title for hit in search_articles(hub, query, limit=limit)]


@pytest.mark.parametrize(("markup", "expected"), [
    ("<p>先关机&amp;断电&nbsp;再取纸。</p><p>第二段</p>", "先关机&断电 再取纸。\n\n第二段"),
    ("<ul><li>检查纸张</li><li>清洁搓纸轮</li></ul>", "检查纸张\n清洁搓纸轮"),
    ("第一行<br/>第二行", "第一行\n第二行"),
    ('<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">sh</ac:parameter>'
     "<ac:plain-text-body><![CDATA[lpstat -t]]></ac:plain-text-body></ac:structured-macro>",
     "lpstat -t"),
    ("<h1>标题</h1><script>alert(1)</script><p>正文 &lt;b&gt; &#25171;</p>", "标题\n\n正文 <b> 打"),
    ("", ""),
])
def test_storage_to_text__strips_tags_keeps_paragraphs(markup: str, expected: str) -> None:
    assert storage_to_text(markup) == expected


def test_upsert_articles__idempotent_and_incremental(
    database_url: str, make_hub: Any, kb_articles: list[dict[str, Any]]
) -> None:
    hub: Hub = make_hub(database_url)
    try:
        with hub.sessions.begin() as session:
            first = upsert_articles(session, "confluence", kb_articles, mapping="kb@1")
        with hub.sessions.begin() as session:
            again = upsert_articles(session, "confluence", kb_articles, mapping="kb@1")
        changed = {**kb_articles[3], "title": "路由器指示灯闪红灯", "labels": ["网络", "路由器"]}
        with hub.sessions.begin() as session:
            third = upsert_articles(session, "confluence", [changed, kb_articles[0]],
                                    mapping="kb@1")
        with hub.sessions() as session:
            count = session.scalar(sa.select(sa.func.count()).select_from(Article))
            stored = session.scalars(sa.select(Article).where(
                Article.external_id == "kb-1")).one()
        assert (len(first.created), len(again.created), again.unchanged) == (5, 0, 5)
        assert [(a.external_id, fields) for a, fields in third.updated] == [
            ("kb-4", ["title", "labels"])]
        assert third.unchanged == 1 and count == 5
        assert stored.body_text.startswith("打印时纸张卡在进纸口。\n\n请先关闭电源")
        assert stored.labels == ["打印机", "硬件"] and stored.mapping == "kb@1"
        # The index follows the update: the new title is found, the old one is gone.
        assert _titles(hub, "路由器闪红灯")[0] == "路由器指示灯闪红灯"
        assert "路由器频繁断网的排查步骤" not in _titles(hub, "频繁断网")
    finally:
        hub.close()


@pytest.mark.parametrize(("query", "first"), [
    ("打印机卡纸", "打印机频繁卡纸的处理方法"),
    ("我家打印机老是卡纸怎么办", "打印机频繁卡纸的处理方法"),
    ("打印件有黑色条纹", "打印机打印出来有黑线"),
    ("复印机卡纸", "复印机卡纸后无法复印"),
    ("路由器老是断网", "路由器频繁断网的排查步骤"),
    ("m1136 驱动装不上", "HP LaserJet M1136 驱动安装失败"),
    ("ＨＰ　Ｍ１１３６", "HP LaserJet M1136 驱动安装失败"),  # full-width
    ("硒鼓坏了", "打印机打印出来有黑线"),  # no 3-gram of the query occurs: 2-grams only
])
def test_search_articles__chinese_queries_rank_the_right_article_first(
        indexed_hub: Hub, query: str, first: str) -> None:
    assert _titles(indexed_hub, query)[0] == first


def test_search_articles__score_snippet_and_fields(indexed_hub: Hub) -> None:
    hits = search_articles(indexed_hub, "打印机卡纸", limit=3)
    top = hits[0]
    assert top.url == "https://kb/1" and top.labels == ["打印机", "硬件"]
    assert 0 < top.score <= 1 and all(h.score <= top.score for h in hits)
    assert "【" in top.snippet and "】" in top.snippet
    assert "【打印】时纸张" in top.snippet  # the body has 打印, not 卡纸
    assert len(hits) <= 3


def test_search_articles__two_characters_widen_to_indexed_trigrams(indexed_hub: Hub) -> None:
    # "卡纸" has no 3-gram of its own: on SQLite it is widened to the indexed 3-grams that
    # begin with it ("卡纸的", "卡纸后", "卡纸，"); PostgreSQL scans.
    assert set(_titles(indexed_hub, "卡纸", limit=2)) == {"打印机频繁卡纸的处理方法",
                                                    "复印机卡纸后无法复印"}


def test_search_articles__common_words_still_find_the_specific_article(
        database_url: str, make_hub: Any) -> None:
    # 打印机 and 卡纸 are each in over a thousand articles, so SQLite asks the index for
    # the articles holding both; the generic article (shortest title) must still come first.
    brands = ["惠普", "佳能", "兄弟", "得力"]
    symptoms = ["频繁卡纸", "严重卡纸", "偶尔卡纸"]
    many = [{"external_id": f"m-{i}", "title": f"{brands[i % 4]}P{1000 + i}打印机"
             f"{symptoms[i % 3]}的处理方法", "body_text": f"用户反馈打印机{symptoms[i % 3]}。"}
            for i in range(1_500)]
    generic = {"external_id": "generic", "title": "打印机频繁卡纸的处理方法",
               "body_text": "用户反馈打印机频繁卡纸。"}
    hub: Hub = make_hub(database_url)
    try:
        with hub.sessions.begin() as session:
            upsert_articles(session, "bulk", [*many, generic])
        assert _titles(hub, "打印机卡纸", limit=1) == ["打印机频繁卡纸的处理方法"]
        assert _titles(hub, "惠普P1000打印机卡纸", limit=1) == ["惠普P1000打印机频繁卡纸的处理方法"]
    finally:
        hub.close()


def test_search_articles__finds_an_article_written_after_a_search(indexed_hub: Hub) -> None:
    assert search_articles(indexed_hub, "喷墨头堵塞") == []
    with indexed_hub.sessions.begin() as session:
        upsert_articles(session, "confluence", [
            {"external_id": "kb-6", "title": "喷墨头堵塞怎么清洗", "body_text": "运行清洗程序。"}])
    assert _titles(indexed_hub, "喷墨头堵塞") == ["喷墨头堵塞怎么清洗"]


@pytest.mark.parametrize("query", ["怎么办", "区块链量子计算"])
def test_search_articles__nothing_to_match_is_an_empty_list(indexed_hub: Hub, query: str) -> None:
    assert search_articles(indexed_hub, query) == []


@pytest.mark.parametrize(("query", "limit"), [("", 5), ("   ", 5), ("打印机", 0), ("打印机", 51)])
def test_search_articles__rejects_bad_requests(indexed_hub: Hub, query: str, limit: int) -> None:
    with pytest.raises(InvalidRequestError):
        search_articles(indexed_hub, query, limit=limit)


def test_suggest_for_ticket__uses_subject_description_and_category(indexed_hub: Hub) -> None:
    hits = suggest_for_ticket(indexed_hub, "打印机又坏了", "每次打印都卡纸，纸张卡在进纸口",
                              "hardware")
    assert hits[0].title == "打印机频繁卡纸的处理方法" and len(hits) <= 3


def test_kb_search_route__hits_and_problem_json(indexed_hub: Hub, api_client: Any) -> None:
    with api_client(indexed_hub, role="agent", scopes=()) as client:
        found = client.get("/kb/search", params={"q": "打印机卡纸", "limit": 2})
        empty = client.get("/kb/search", params={"q": " "})
    assert found.status_code == 200
    body = found.json()["items"]
    assert found.json()["next_cursor"] is None  # one page: the best `limit` hits
    assert [hit["id"] for hit in body] == [
        hit.id for hit in search_articles(indexed_hub, "打印机卡纸", limit=2)]
    assert len(body) == 2 and body[0]["title"] == "打印机频繁卡纸的处理方法"
    assert set(body[0]) == {"id", "title", "url", "score", "snippet", "labels"}
    assert empty.status_code == 422
    assert empty.headers["content-type"].startswith("application/problem+json")
    assert [error["field"] for error in empty.json()["errors"]] == ["query.q"]
