"""Is a solution about to be published already in the knowledge base? (near-duplicate check)

Search's score says how much of the *query* an article holds (title and labels weigh 3, body
1), so a short query such as "打印机卡纸" scores 1.0 against any broader article that happens to
hold those characters ("打印机频繁卡纸的处理方法"). A duplicate has to match both ways, so
the score here is the mean of
- search's own score of the best query (the new title, or the first clause of the new text),
- the share of the article's title that the new title and text hold (the same gram
  coverage, the other way round),
which is 1.0 for the same title and text, about 0.9 for a reworded near-identical title
("打印机经常卡纸怎么处理" against "打印机频繁卡纸的处理方法": 0.925), and 0.3-0.5 for
articles sharing a topic word or two ("打印机驱动安装失败" against the 卡纸 article: 0.37).

DEFAULT_THRESHOLD = 0.7: both directions must cover most of the other side. Measured on the
test articles: rewordings of one problem score 0.72-0.93 ("打印机出现黑线" / "打印机打印出来有
黑线": 0.725); a short title inside a broader article stays below ("路由器断网" / "路由器频繁
断网的排查步骤": 0.68), and so does a look-alike ("打印机卡纸" / "复印机卡纸后无法复印": 0.6).
"""

from __future__ import annotations

import re
from dataclasses import replace

from hub.runtime import Hub

from ._query import normalize, query_grams
from .search import ArticleHit, search_articles

__all__ = ["DEFAULT_THRESHOLD", "near_duplicate"]

DEFAULT_THRESHOLD = 0.7
_CANDIDATES = 5
_QUERY_CHARS = 40  # query_grams keeps 40 grams: about 20 Chinese characters in full
_CLAUSE = re.compile(r"[。！？!?\n；;]")


def near_duplicate(hub: Hub, title: str, text: str, *,
                   threshold: float = DEFAULT_THRESHOLD) -> ArticleHit | None:
    """The stored article that says (almost) the same as `title` and `text`, or None.

    Returns the best candidate whose two-way score (see the module doc) is ≥ `threshold`,
    with `score` set to that two-way score.
    """
    queries = [q for q in (_clip(title), _clip(_first_clause(text))) if q.strip()]
    candidates: dict[int, ArticleHit] = {}
    for query in queries:
        for hit in search_articles(hub, query, limit=_CANDIDATES):
            if hit.id not in candidates or hit.score > candidates[hit.id].score:
                candidates[hit.id] = hit
    mine = normalize(f"{title} {text}")
    best: ArticleHit | None = None
    for hit in candidates.values():
        score = round((hit.score + _covered(hit.title, mine)) / 2, 4)
        if score >= threshold and (best is None or score > best.score):
            best = replace(hit, score=score)
    return best


def _covered(article_title: str, mine: str) -> float:
    """The share of the article title's characters (its grams, fillers dropped) in `mine`."""
    grams = query_grams(article_title)
    return grams.coverage([g for g in grams.grams if g.text in mine])


def _first_clause(text: str) -> str:
    return next((part for part in _CLAUSE.split(text or "") if part.strip()), "")


def _clip(text: str) -> str:
    return (text or "").strip()[:_QUERY_CHARS]
