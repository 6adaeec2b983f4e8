"""The KB tests' articles, and a hub whose index holds them (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hub.kb import upsert_articles
from hub.runtime import Hub

ARTICLES = [
    {"external_id": "kb-1", "title": "打印机频繁卡纸的处理方法",
     "body": "<p>打印时纸张卡在进纸口。</p><p>请先关闭电源，取出卡住的纸张，"
             "再清洁搓纸轮。</p>", "labels": ["打印机", "硬件"], "url": "https://kb/1"},
    {"external_id": "kb-2", "title": "打印机打印出来有黑线",
     "body": "<p>硒鼓老化会让打印件出现黑色条纹，更换硒鼓即可。</p>", "labels": ["打印机"]},
    {"external_id": "kb-3", "title": "复印机卡纸后无法复印",
     "body": "<p>复印机提示卡纸，请打开前盖检查。</p>", "labels": ["复印机"]},
    {"external_id": "kb-4", "title": "路由器频繁断网的排查步骤",
     "body": "<p>检查光猫指示灯，重启路由器。</p>", "labels": ["网络"]},
    {"external_id": "kb-5", "title": "HP LaserJet M1136 驱动安装失败",
     "body": "<p>下载 M1136 的最新驱动并以管理员身份安装。</p>", "labels": ["驱动"]},
]


@pytest.fixture
def kb_articles() -> list[dict[str, Any]]:
    return [dict(article) for article in ARTICLES]


@pytest.fixture
def indexed_hub(database_url: str, make_hub: Any) -> Iterator[Hub]:
    """A fresh hub whose article index holds ARTICLES (as a Confluence pull would)."""
    hub: Hub = make_hub(database_url)
    with hub.sessions.begin() as session:
        upsert_articles(session, "confluence", ARTICLES, mapping="kb@1")
    yield hub
    hub.close()
