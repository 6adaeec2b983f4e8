"""Turning a query (or a ticket's text) into the character n-grams search matches and scores.

Chinese has no spaces, so words cannot be found by splitting. A query is cut at whitespace,
punctuation and filler phrases ("怎么办", "老是", "的"), then each Chinese run becomes its
overlapping 3-grams (what a trigram index can look up) and 2-grams (most Chinese words are
two characters: "卡纸" must count even where no 3-gram of the query occurs in the article).
Latin words and model numbers ("m1136", "e3") are kept whole.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Gram", "QueryGrams", "query_grams"]

# Phrases that say nothing about the problem; longest first so "怎么办" goes before "怎么".
_FILLERS = sorted("""
怎么办 怎么回事 怎么处理 怎么解决 怎么弄 怎么 为什么 如何 请问 你好 您好 麻烦 帮忙 帮我 一下
老是 总是 一直 经常 突然 现在 今天 昨天 刚才 我们 我家 我的 这个 那个 什么 问题 处理方法
解决方法 解决办法 方法 办法 处理 解决 出现 发现 时候 情况 有点 好像 可能 需要 应该 谢谢
的 了 吗 呢 啊 吧 呀 我 你 他 她 它 请 是 在 很 就 都 也 还 又 和 与
""".split(), key=len, reverse=True)
_FILLER = re.compile("|".join(map(re.escape, _FILLERS)))
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:[-_.][a-z0-9]+)*")
_IS_CJK = re.compile(rf"[{_CJK}]")


@dataclass(frozen=True, slots=True)
class Gram:
    text: str
    weight: float
    indexed: bool  # a 3-gram (or longer word): the trigram index can look it up
    start: int  # where it sits in the query's runs laid end to end


@dataclass(frozen=True, slots=True)
class QueryGrams:
    grams: tuple[Gram, ...]
    length: int  # characters of the query's runs that grams cover

    def coverage(self, found: list[Gram]) -> float:
        """The share of the query's characters that the `found` grams cover."""
        covered: set[int] = set()
        for gram in found:
            covered.update(range(gram.start, gram.start + len(gram.text)))
        return len(covered) / self.length if self.length else 0.0

    @property
    def indexed(self) -> list[str]:
        return [g.text for g in self.grams if g.indexed]

    @property
    def texts(self) -> list[str]:
        return [g.text for g in self.grams]

    def __bool__(self) -> bool:
        return bool(self.grams)


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII) and lower case, as search compares."""
    return unicodedata.normalize("NFKC", text).lower()


def query_grams(text: str, *, max_grams: int = 40) -> QueryGrams:
    """The distinct grams of `text`, in order of first appearance, at most `max_grams`."""
    cleaned = _FILLER.sub(" ", normalize(text))
    seen: dict[str, Gram] = {}
    base = 0

    def add(gram: str, weight: float, indexed: bool, start: int) -> None:
        if gram not in seen and len(seen) < max_grams:
            seen[gram] = Gram(gram, weight, indexed, base + start)

    for run in _RUNS.findall(cleaned):
        if len(seen) >= max_grams:
            break
        if not _IS_CJK.match(run):
            if len(run) < 2 and not run.isdigit():
                continue
            add(run, 2.0 if len(run) >= 3 else 1.0, len(run) >= 3, 0)
        elif len(run) == 2:
            add(run, 1.0, False, 0)
        elif len(run) > 2:
            for i in range(len(run) - 2):
                add(run[i:i + 3], 1.5, True, i)
            for i in range(len(run) - 1):
                add(run[i:i + 2], 1.0, False, i)
        else:
            continue
        base += len(run)
    return QueryGrams(tuple(seen.values()), base)
