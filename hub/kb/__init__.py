"""The knowledge base in the hub: articles kept in the store, and Chinese-aware search."""

from .search import ArticleHit, search_articles, search_in_session, suggest_for_ticket
from .store import ArticleUpsertResult, upsert_articles
from .text import storage_to_text
from .views import ArticleMatch

__all__ = [
    "ArticleHit",
    "ArticleMatch",
    "ArticleUpsertResult",
    "search_articles",
    "search_in_session",
    "storage_to_text",
    "suggest_for_ticket",
    "upsert_articles",
]
