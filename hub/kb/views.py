"""How the API shows a knowledge-base article that matches: a search's hits and a ticket's
suggestions are one schema."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .search import ArticleHit

__all__ = ["ArticleMatch"]


class ArticleMatch(BaseModel):
    """A knowledge-base article matching a query or a ticket: `score` 0..1, the matches in
    `snippet` between 【 and 】."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 12, "title": "退款到账时间说明", "url": "https://kb.example.com/pages/12",
        "score": 0.82, "snippet": "原路【退款】一般在 1-3 个工作日内到账……",
        "labels": ["refund", "billing"]}]})

    id: int
    title: str
    url: str | None
    score: float
    snippet: str
    labels: list[str]

    @classmethod
    def of(cls, hit: ArticleHit) -> ArticleMatch:
        return cls(id=hit.id, title=hit.title, url=hit.url, score=hit.score,
                   snippet=hit.snippet, labels=hit.labels)
