"""Deterministic knowledge-base articles for the rest sandbox (Chinese titles, +08:00 times).

Timestamps are whole seconds after a fixed reference time, and many articles share one (the
newest two always do), so incremental reads meet boundary ties on every run.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["REFERENCE_TIME", "TZ", "format_ts", "generate_articles", "parse_ts"]

TZ = timezone(timedelta(hours=8))
REFERENCE_TIME = datetime(2026, 3, 1, 9, 0, tzinfo=TZ)
_REF = int(REFERENCE_TIME.timestamp())

_TOPICS = ("退款", "发票", "物流配送", "会员积分", "账号登录", "保修", "以旧换新", "配件更换",
           "订单取消", "优惠券", "上门安装", "企业采购")
_TEMPLATES = ("如何申请{t}", "{t}常见问题", "{t}处理流程", "{t}规则说明", "{t}失败怎么办",
              "{t}需要哪些材料")
_LABELS = ("售后", "售前", "财务", "物流", "会员", "账号", "安装", "企业客户", "高频")
_CONTACT = "如有疑问请联系在线客服。"
_STEPS = (0, 0, 0, 1, 1, 2, 5, 30, 300)  # seconds between consecutive changes; 0 = a tie


def format_ts(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, TZ).isoformat()


def parse_ts(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def generate_articles(count: int, *, seed: int) -> list[dict[str, Any]]:
    """`count` articles in (updated_at, id) order, ids KB0001…, the last two sharing a time."""
    rng = random.Random(seed)
    articles, ts = [], _REF
    for number in range(1, count + 1):
        ts += 0 if number == count else rng.choice(_STEPS)
        topic = rng.choice(_TOPICS)
        title = rng.choice(_TEMPLATES).format(t=topic)
        articles.append({
            "id": f"KB{number:04d}",
            "title": title,
            "body": f"{title}：请在“我的订单”中找到对应订单，按页面提示操作；{_CONTACT}",
            "labels": sorted(rng.sample(_LABELS, rng.randint(1, 3))),
            "updated_at": format_ts(ts),
        })
    return articles
