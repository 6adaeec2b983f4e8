"""SQLite candidates for a query: the FTS5 trigram index, asked only about the query's rare parts.

OR-ing every 3-gram of a query into one MATCH makes a product word such as 打印机, found in a
sixth of a knowledge base, bring all those articles to be fetched, scored and sorted. Instead
the index's own document frequencies (an `fts5vocab` table in the connection's temp schema, so
no migration is needed) rank the query's parts, and the index is asked only about rare ones.
A part is a 3-gram of the query that the index holds, or a 2-character word (which a trigram
index cannot look up) widened to the indexed 3-grams that begin with it ("卡纸" → "卡纸的",
"卡纸后", …) when no found 3-gram of the query contains it. Candidates are:

1. the articles holding two parts from different places in the query (pairs among the
   `_PAIRED` rarest, 3-grams before widened words), at most `_BUDGET` of them by bm25
   (title x10, labels x5, body x1) when there could be more;
2. when that gives fewer than a pool, also those holding the rarest parts, as many parts as
   fit in `_BUDGET` articles (at least one; its `_BUDGET` best by bm25 if it is common).

They are ranked on how much of the query their title covers (every gram, common ones
included), shorter titles first. One blind spot: a 2-character word that ends every text
holding it (a title "…打印机卡纸", a body never saying 卡纸) begins no 3-gram, so only the
query's other grams can find that article.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from ._query import Gram, QueryGrams, normalize

__all__ = ["sqlite_pool"]

_BUDGET = 1000  # candidate articles whose titles are compared, at most
_PAIRED = 4  # rarest parts whose pairs are looked up together
_WIDEN = 64  # indexed 3-grams taken per 2-character word
_REMEMBER, _REMEMBERED = 60.0, 20_000  # seconds and terms a connection keeps counts for
_VOCAB = text("CREATE VIRTUAL TABLE IF NOT EXISTS temp.articles_fts_vocab "
              "USING fts5vocab(main, 'articles_fts', 'row')")
_FREQUENCIES = text("SELECT term, doc FROM temp.articles_fts_vocab WHERE term IN :terms"
                    ).bindparams(bindparam("terms", expanding=True))
_STARTING = text("SELECT term, doc FROM temp.articles_fts_vocab "
                 "WHERE term >= :low AND term < :high LIMIT :widen")
_TITLES = text("SELECT a.id, a.title FROM articles a WHERE a.id IN "
               "(SELECT rowid FROM articles_fts WHERE articles_fts MATCH :match)")
_BEST_TITLES = text(
    "SELECT a.id, a.title FROM articles a WHERE a.id IN "
    "(SELECT rowid FROM articles_fts WHERE articles_fts MATCH :match "
    " AND rank MATCH 'bm25(10.0, 1.0, 5.0)' ORDER BY rank LIMIT :budget)")
_ROWS = text("SELECT a.id, a.title, a.body_text, a.labels, a.url FROM articles a "
             "WHERE a.id IN :ids").bindparams(bindparam("ids", expanding=True))


@dataclass(frozen=True, slots=True)
class _Part:
    documents: int  # articles holding any of `terms` (summed over a widened word's terms)
    widened: bool
    terms: tuple[str, ...]
    start: int  # where it sits in the query
    end: int

    @property
    def match(self) -> str:
        return "(" + " OR ".join('"' + t.replace('"', '""') + '"' for t in self.terms) + ")"


def sqlite_pool(session: Session, grams: QueryGrams, size: int) -> list[Any]:
    """The `size` articles whose titles cover most of the query, best first."""
    parts = sorted(_parts(session, grams), key=lambda p: (p.widened, p.documents, p.start))
    if not parts:
        return []
    rare = parts[:_PAIRED]
    pairs = [(a, b) for i, a in enumerate(rare) for b in rare[i + 1:]
             if a.end <= b.start or b.end <= a.start]
    rows: dict[int, str] = {}
    if pairs:  # the articles holding two parts of the query, far likelier than one
        at_most = sum(min(a.documents, b.documents) for a, b in pairs)
        rows.update(session.execute(_TITLES if at_most <= _BUDGET else _BEST_TITLES, {
            "match": " OR ".join(f"({a.match} AND {b.match})" for a, b in pairs),
            "budget": _BUDGET}).all())
    if len(rows) < size:
        chosen, total = [parts[0]], parts[0].documents
        for part in parts[1:]:
            if total + part.documents > _BUDGET:
                break
            chosen.append(part)
            total += part.documents
        statement = _BEST_TITLES if total > _BUDGET else _TITLES
        rows.update(session.execute(statement, {
            "match": " OR ".join(p.match for p in chosen), "budget": _BUDGET}).all())
    ids = _best_titles(rows.items(), grams.grams, size)
    order = {id_: i for i, id_ in enumerate(ids)}
    found = session.execute(_ROWS, {"ids": ids}).all() if ids else []
    return sorted(found, key=lambda row: order[row.id])


def _best_titles(rows: Iterable[Any], grams: Iterable[Gram], size: int) -> list[int]:
    """Ids of the `size` rows whose titles hold the most query weight, then the shortest."""
    weights = [(g.text, g.weight) for g in grams]
    keyed = []
    for id_, title in rows:
        folded = normalize(title)
        keyed.append((-sum([w for gram, w in weights if gram in folded]), len(title), id_))
    keyed.sort()
    return [id_ for _cover, _length, id_ in keyed[:size]]


def _parts(session: Session, grams: QueryGrams) -> list[_Part]:
    """The query's 3-grams the index holds, and its 2-character words widened."""
    indexed = [g for g in grams.grams if g.indexed and len(g.text) >= 3]
    frequency = _frequencies(session, {t for g in indexed for t in _trigrams(g.text)})
    parts = []
    for gram in indexed:
        # A longer Latin word is a phrase of 3-grams: as rare as its rarest.
        documents = min(frequency.get(t, 0) for t in _trigrams(gram.text))
        if documents:
            parts.append(_Part(documents, False, (gram.text,), gram.start,
                               gram.start + len(gram.text)))
    found = [p.terms[0] for p in parts]
    for gram in grams.grams:
        if len(gram.text) != 2 or any(gram.text in term for term in found):
            continue
        widened = session.execute(_STARTING, {
            "low": gram.text, "high": gram.text + "\U0010ffff", "widen": _WIDEN}).all()
        if widened:
            parts.append(_Part(sum(df for _t, df in widened), True,
                               tuple(t for t, _df in widened), gram.start, gram.start + 2))
    return parts


def _frequencies(session: Session, terms: set[str]) -> dict[str, int]:
    """How many articles hold each term, remembered per connection for `_REMEMBER` seconds
    (they only choose what to ask the index: a stale count costs time, not a result)."""
    # The vocabulary table lives in the temp schema, made in (and so rolled back with) the
    # session's transaction; the counts live as long as the connection.
    session.execute(_VOCAB)
    known: dict[str, tuple[int, float]] = session.connection().connection.info.setdefault(
        "hub.kb.frequencies", {})
    now = time.monotonic()
    # An absent term is asked again every time: it may be in the article written a moment ago.
    missing = sorted(t for t in terms
                     if t not in known or not known[t][0] or known[t][1] < now - _REMEMBER)
    if missing:
        if len(known) > _REMEMBERED:
            known.clear()
        counted: dict[str, int] = dict(session.execute(_FREQUENCIES, {"terms": missing}).all())
        known.update({t: (counted.get(t, 0), now) for t in missing})
    return {t: known[t][0] for t in terms}


def _trigrams(word: str) -> list[str]:
    return [word[i:i + 3] for i in range(len(word) - 2)]
