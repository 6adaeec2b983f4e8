"""Chinese-aware article search: SQLite FTS5 trigrams or PostgreSQL pg_trgm, one ranking.

Both backends work in two stages. First a pool of the `_POOL` articles whose titles cover most
of the query: on SQLite, among those holding the query's rarest parts in the FTS5 trigram index
(see `_fts`); on PostgreSQL, among those holding any of its 3-grams (pg_trgm indexes), word
similarity to the title breaking ties. Python then scores that pool on every gram,
2-grams included, in title and labels (x3) and body (x1), and builds the highlighted snippet.
The score is the share of the query's weighted grams found, so it reads the same on both.
"""

from __future__ import annotations

import json
import logging
import weakref
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from hub.errors import InvalidRequestError
from hub.runtime import Hub

from ._fts import sqlite_pool
from ._query import QueryGrams, normalize, query_grams

__all__ = ["ArticleHit", "search_articles", "search_in_session", "suggest_for_ticket"]

log = logging.getLogger("hub.kb")

_POOL = 60  # candidates scored in full per query
_TITLE_WEIGHT, _BODY_WEIGHT = 3.0, 1.0
_SNIPPET_CHARS = 80
_OPEN, _CLOSE = "【", "】"
_TRGM_SCHEMA: weakref.WeakKeyDictionary[Engine, str | None] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class ArticleHit:
    """One matching article: `score` in 0..1 (the share of the query found), `snippet` with
    the matched text between 【 and 】."""

    id: int
    title: str
    url: str | None
    score: float
    snippet: str
    labels: list[str]


def search_articles(hub: Hub, query: str, *, limit: int = 5) -> list[ArticleHit]:
    """The articles best matching `query`, best first (at most `limit`).

    Raises:
        InvalidRequestError: the query is empty or `limit` is not 1..50.
    """
    if not query or not query.strip():
        raise InvalidRequestError("the search query is empty")
    if not 1 <= limit <= 50:
        raise InvalidRequestError(f"limit must be between 1 and 50, not {limit}")
    with hub.sessions() as session:
        return search_in_session(session, query, limit=limit)


def suggest_for_ticket(hub: Hub, subject: str, description: str | None,
                       category: str | None, *, limit: int = 3) -> list[ArticleHit]:
    """Articles for a ticket: its subject first, then description and category."""
    text_ = " ".join(part for part in (subject, category, description) if part)
    if not text_.strip():
        return []
    with hub.sessions() as session:
        return search_in_session(session, text_, limit=limit)


def search_in_session(session: Session, query: str, *, limit: int = 5) -> list[ArticleHit]:
    """`search_articles` on an open session (for services that already hold one)."""
    grams = query_grams(query)
    if not grams:
        return []
    if session.get_bind().dialect.name == "postgresql":
        pool = _pool_postgresql(session, query, grams)
    else:
        pool = sqlite_pool(session, grams, _POOL)
    return _rank(pool, grams, limit)


def _title_cover_sql(grams: QueryGrams, column: str, func: str) -> tuple[str, dict[str, Any]]:
    parts, params = [], {}
    for i, gram in enumerate(grams.grams):
        params[f"g{i}"] = gram.text
        parts.append(f"(CASE WHEN {func}({column}, :g{i}) > 0 THEN {gram.weight} ELSE 0 END)")
    return " + ".join(parts), params


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _trgm_schema(session: Session) -> str | None:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    if engine not in _TRGM_SCHEMA:
        schema = session.execute(text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'")).scalar()
        if schema is None:
            log.warning("pg_trgm is not installed: article search uses ILIKE scans, "
                        "unindexed and ranked without trigram similarity")
        _TRGM_SCHEMA[engine] = schema
    return _TRGM_SCHEMA[engine]


def _pool_postgresql(session: Session, query: str, grams: QueryGrams) -> list[Any]:
    cover, params = _title_cover_sql(grams, "lower(a.title)", "strpos")
    lookup = grams.indexed or grams.texts
    likes = " OR ".join(f"a.title ILIKE :p{i} OR a.body_text ILIKE :p{i}"
                        for i in range(len(lookup)))
    params.update({f"p{i}": f"%{_like_escape(g)}%" for i, g in enumerate(lookup)})
    schema = _trgm_schema(session)
    similarity = "0"
    if schema is not None:
        similarity = f'"{schema}".word_similarity(:q, a.title)'
        params["q"] = normalize(query)
    sql = (f"SELECT a.id, a.title, a.body_text, a.labels, a.url, {cover} AS cover "
           f"FROM articles a WHERE {likes} "
           f"ORDER BY cover DESC, length(a.title), {similarity} DESC LIMIT :pool")
    params["pool"] = _POOL
    found = list(session.execute(text(sql), params))
    if found or lookup == grams.texts:
        return found
    return _pool_postgresql(session, query, QueryGrams(
        tuple(replace(g, indexed=False) for g in grams.grams), grams.length))


def _rank(pool: list[Any], grams: QueryGrams, limit: int) -> list[ArticleHit]:
    scored = []
    for order, row in enumerate(pool):
        labels = _labels(row.labels)
        head = normalize(row.title + " " + " ".join(labels))
        body = normalize(row.body_text or "")
        in_head = [g for g in grams.grams if g.text in head]
        in_body = [g for g in grams.grams if g.text in body]
        score = ((_TITLE_WEIGHT * grams.coverage(in_head) + _BODY_WEIGHT * grams.coverage(in_body))
                 / (_TITLE_WEIGHT + _BODY_WEIGHT))
        if score > 0:
            found = sorted({g.text for g in (*in_head, *in_body)})
            scored.append((-score, len(row.title), order, row, labels, found))
    # Equal scores: the article that says least beyond the query is the more specific one.
    scored.sort(key=lambda item: item[:3])
    return [ArticleHit(id=row.id, title=row.title, url=row.url, score=round(-negative, 4),
                       snippet=_snippet(row.body_text or row.title, found), labels=labels)
            for negative, _length, _order, row, labels, found in scored[:limit]]


def _labels(value: Any) -> list[str]:
    if isinstance(value, str):  # SQLite through a raw query: the JSON text
        value = json.loads(value)
    return [str(label) for label in value or []]


def _snippet(body: str, grams: list[str]) -> str:
    """About `_SNIPPET_CHARS` characters of `body` around its first match, matches marked."""
    flat = " ".join(body.split())
    folded = normalize(flat)
    if len(folded) != len(flat):  # NFKC changed lengths: positions would not line up
        folded = flat.lower()
    positions = [(folded.find(g), g) for g in grams]
    hits = sorted(p for p, _g in positions if p >= 0)
    start = max(0, hits[0] - 20) if hits else 0
    end = min(len(flat), start + _SNIPPET_CHARS)
    spans: list[list[int]] = []
    for gram in sorted(grams, key=len, reverse=True):
        at = folded.find(gram, start)
        while 0 <= at < end:
            spans.append([at, min(at + len(gram), end)])
            at = folded.find(gram, at + 1)
    spans.sort()
    merged: list[list[int]] = []
    for span in spans:
        if merged and span[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], span[1])
        else:
            merged.append(span)
    out, cursor = ["…" if start > 0 else ""], start
    for first, last in merged:
        out += [flat[cursor:first], _OPEN, flat[first:last], _CLOSE]
        cursor = last
    out.append(flat[cursor:end])
    if end < len(flat):
        out.append("…")
    return "".join(out)
