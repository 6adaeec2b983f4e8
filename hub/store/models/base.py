"""The models' base: JSON documents (JSONB on PostgreSQL) and UTC timestamps; the hook that
keeps Alembic's autogenerate off what the migrations make by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

__all__ = ["Base", "JsonDoc", "Timestamp", "include_name"]

# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JsonDoc, datetime: Timestamp}


# Search structures migration 0007 manages by hand (SQLite's FTS5 table and its shadow
# tables, PostgreSQL's trigram indexes): not models, so autogenerate must leave them alone.
_HAND_MADE_TABLES = "articles_fts"
_HAND_MADE_INDEXES = frozenset({"ix_articles_title_trgm", "ix_articles_body_trgm"})


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Alembic's `include_name` hook: skip what the migrations manage outside the models."""
    if type_ == "table" and name and name.startswith(_HAND_MADE_TABLES):
        return False
    return not (type_ == "index" and name in _HAND_MADE_INDEXES)
