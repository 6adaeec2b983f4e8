"""The knowledge base's articles (their search structures are hand-made by migration 0007)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base, JsonDoc

__all__ = ["Article"]


class Article(Base):
    """A knowledge-base article pulled from a source, its body kept as plain text."""

    __tablename__ = "articles"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_articles_source_extid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    url: Mapped[str | None] = mapped_column(String(1000))
    source_updated_at: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[str | None] = mapped_column(String(120))  # name@version that wrote it
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
