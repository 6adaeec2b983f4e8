"""The sandbox's CQL subset and seed data: the contract the connector is written against."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from connectors.confluence.sandbox.cql import CqlError, parse_cql
from connectors.confluence.sandbox.pages import PageStore
from connectors.confluence.sandbox.seed import SEED_ARTICLES, seed_pages

from .conftest import EMAIL, TOKEN, Site

_STORE = PageStore(space_key="KB")


def _titles(cql: str) -> list[str]:
    query = parse_cql(cql, tz=UTC)
    views = [p.cql_view() for p in _STORE.pages()]
    return [str(v["title"]) for v in query.sort([v for v in views if query.matches(v)])]


@pytest.mark.parametrize(("cql", "expected"), [
    ('title = "如何申请换货"', ["如何申请换货"]),
    ('label = "发票" AND title ~ "专用"', ["如何申请增值税专用发票"]),
    ('label in ("保修", "价保") order by title desc',
     sorted(["价格保护申请流程", "保修期如何计算"], reverse=True)),
    ('text ~ "软水盐" and not label = "故障排除"', ["洗碗机软水盐的添加方法"]),
    ('space = "OTHER" or title = "查询物流进度"', ["查询物流进度"]),
    ('lastmodified < "2026/09/02 10:00"',
     ["打印机频繁卡纸的处理方法", "打印机提示缺墨但墨盒是新的怎么办"]),
])
def test_cql__matches_the_documented_subset(cql: str, expected: list[str]) -> None:
    assert _titles(cql) == expected


def test_cql__minute_values_cover_their_whole_minute() -> None:
    article, when = seed_pages()[4]
    minute = when.strftime("%Y/%m/%d %H:%M")
    assert article.title in _titles(f'lastmodified >= "{minute}"')
    assert article.title in _titles(f'lastmodified = "{minute}"')
    assert article.title not in _titles(f'lastmodified > "{minute}"')


@pytest.mark.parametrize("cql", [
    'title = ', 'unknown = "x"', 'lastmodified >= "yesterday"', '(title = "a"',
    'type = page order by body', 'text = "x"',
])
def test_cql__invalid_queries_raise(cql: str) -> None:
    with pytest.raises(CqlError):
        parse_cql(cql, tz=UTC)


def test_seed__at_least_40_distinct_deterministic_articles() -> None:
    assert len(SEED_ARTICLES) >= 40
    assert len({a.title for a in SEED_ARTICLES}) == len(SEED_ARTICLES)
    times = [when for _, when in seed_pages()]
    assert times == sorted(times) and times == [when for _, when in seed_pages()]
    assert all(when < datetime(2026, 11, 2, tzinfo=UTC) for when in times)


def test_sandbox__refuses_bad_basic_auth_and_stale_versions(site: Site) -> None:
    api = f"{site.url}/wiki/rest/api/content"
    refused = httpx.get(f"{api}/65537", auth=(EMAIL, "wrong"))
    assert refused.status_code == 401 and refused.json()["statusCode"] == 401
    page = httpx.get(f"{api}/65537", auth=(EMAIL, TOKEN), params={"expand": "version"}).json()
    number = page["version"]["number"]  # not incremented: stale
    body = {"type": "page", "title": page["title"], "version": {"number": number},
            "body": {"storage": {"value": "<p>x</p>", "representation": "storage"}}}
    stale = httpx.put(f"{api}/65537", auth=(EMAIL, TOKEN), json=body)
    assert stale.status_code == 409
    assert stale.json()["message"].startswith("Version must be incremented on update.")
