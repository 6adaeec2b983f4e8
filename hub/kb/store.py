"""Articles in the store: upserts by (source, external_id), skipping unchanged ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.jsonable import content_hash
from hub.core.time import as_utc
from hub.errors import InvalidRequestError
from hub.store.models import Article

from .text import storage_to_text

__all__ = ["ARTICLE_FIELDS", "ArticleUpsertResult", "upsert_articles"]

_COLUMNS = ("title", "body_text", "labels", "url", "source_updated_at")
# What an article's mapping may name: the columns, its key, the body as the KB sends it
# (`body`, storage format or HTML) and `updated_at` for `source_updated_at`.
ARTICLE_FIELDS = frozenset({"external_id", "body", "updated_at", *_COLUMNS})


@dataclass
class ArticleUpsertResult:
    created: list[Article] = field(default_factory=list)
    updated: list[tuple[Article, list[str]]] = field(default_factory=list)
    unchanged: int = 0


def _columns(entity: dict[str, Any]) -> dict[str, Any]:
    title = str(entity.get("title") or "").strip()
    if not title:
        raise InvalidRequestError(f"article '{entity.get('external_id')}' has no title")
    if entity.get("body_text") is not None:
        body = str(entity["body_text"])
    else:  # storage format or HTML, as Confluence and most KBs send it
        body = storage_to_text(entity.get("body"))
    labels = entity.get("labels") or []
    if isinstance(labels, str):
        labels = labels.replace("，", ",").split(",")
    updated = entity.get("source_updated_at", entity.get("updated_at"))
    if isinstance(updated, str):
        updated = datetime.fromisoformat(updated.replace("Z", "+00:00"))
    return {"title": title[:500], "body_text": body,
            "labels": [str(label).strip() for label in labels if str(label).strip()],
            "url": entity.get("url"), "source_updated_at": updated}


def upsert_articles(session: Session, source: str, entities: Sequence[dict[str, Any]], *,
                    mapping: str | None = None) -> ArticleUpsertResult:
    """Insert new articles, update changed ones, skip identical ones (by content hash).

    Each entity has `external_id` and `title`, and the body as `body` (Confluence storage
    format or HTML, turned into text here) or `body_text`; optional `labels` (a list, or a
    comma-separated string), `url` and `updated_at` (or `source_updated_at`). `mapping`
    (`name@version`) is recorded on every row written. The search index follows in the same
    transaction.
    """
    result = ArticleUpsertResult()
    latest = {str(e["external_id"]): e for e in entities}  # a page may repeat a record
    existing = {
        a.external_id: a
        for a in session.scalars(select(Article).where(
            Article.source == source, Article.external_id.in_(list(latest))))
    }
    now = datetime.now(UTC)
    for external_id, entity in latest.items():
        columns = _columns(entity)
        digest = content_hash(columns)
        current = existing.get(external_id)
        if current is None:
            article = Article(source=source, external_id=external_id, content_hash=digest,
                              mapping=mapping, created_at=now, updated_at=now, **columns)
            session.add(article)
            result.created.append(article)
        elif current.content_hash == digest and current.mapping == mapping:
            result.unchanged += 1
        else:
            changed = [name for name in _COLUMNS if _differs(getattr(current, name),
                                                              columns[name])]
            if current.mapping != mapping:
                changed.append("mapping")
            for name, value in columns.items():
                setattr(current, name, value)
            current.content_hash, current.mapping, current.updated_at = digest, mapping, now
            result.updated.append((current, changed))
    session.flush()
    return result


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime):
        # SQLite hands timestamps back naive; compare them as UTC.
        old, new = as_utc(old), as_utc(new)
    return bool(old != new)
