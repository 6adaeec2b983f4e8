"""Near-duplicate check before a solution is published: both-way match over the local index."""

from __future__ import annotations

import pytest

from hub.kb.duplicates import DEFAULT_THRESHOLD, near_duplicate
from hub.runtime import Hub


def test_near_duplicate__the_same_problem_almost_verbatim_is_found(indexed_hub: Hub) -> None:
    hit = near_duplicate(indexed_hub, "打印机经常卡纸怎么处理",
                         "客户反映打印机频繁卡纸。已清洁搓纸轮", threshold=DEFAULT_THRESHOLD)
    assert hit is not None and hit.title == "打印机频繁卡纸的处理方法"
    assert hit.url == "https://kb/1" and DEFAULT_THRESHOLD <= hit.score <= 1


def test_near_duplicate__the_identical_title_and_text_scores_highest(indexed_hub: Hub) -> None:
    hit = near_duplicate(indexed_hub, "打印机频繁卡纸的处理方法", "打印时纸张卡在进纸口。",
                         threshold=DEFAULT_THRESHOLD)
    assert hit is not None and hit.title == "打印机频繁卡纸的处理方法" and hit.score > 0.9


@pytest.mark.parametrize(("title", "text"), [
    ("扫码枪无法识别条码", "扫码枪扫描没有反应。重新配对后正常"),  # unrelated
    ("打印机驱动安装失败", "驱动装不上"),  # shares a topic word or two only
    ("复印机无法开机", "按电源键没有反应"),  # same device, another problem
    ("路由器断网", "每天晚上都这样"),  # a short title inside a broader article
])
def test_near_duplicate__unrelated_or_merely_similar_is_not_a_duplicate(
        indexed_hub: Hub, title: str, text: str) -> None:
    assert near_duplicate(indexed_hub, title, text, threshold=DEFAULT_THRESHOLD) is None


def test_near_duplicate__a_reworded_problem_is_found(indexed_hub: Hub) -> None:
    hit = near_duplicate(indexed_hub, "打印机出现黑线", "打印件有黑色条纹",
                         threshold=DEFAULT_THRESHOLD)
    assert hit is not None and hit.title == "打印机打印出来有黑线"


def test_near_duplicate__threshold_is_honoured_and_empty_text_is_fine(indexed_hub: Hub) -> None:
    assert near_duplicate(indexed_hub, "路由器断网", "", threshold=0.95) is None
    loose = near_duplicate(indexed_hub, "路由器断网", "", threshold=0.3)
    assert loose is not None and loose.title == "路由器频繁断网的排查步骤" and loose.score < 0.95
    assert near_duplicate(indexed_hub, "  ", "", threshold=0.1) is None
    assert near_duplicate(indexed_hub, "怎么办", "请问", threshold=0.1) is None  # only filler words
