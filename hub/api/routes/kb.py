"""/kb: search the knowledge-base articles kept in the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from hub.api.deps import HubDep
from hub.kb import ArticleHit, search_articles

router = APIRouter(prefix="/kb", tags=["kb"])


class ArticleHitPublic(BaseModel):
    """An article matching the query: `score` 0..1, matches in `snippet` between 【 and 】."""

    id: int
    title: str
    url: str | None
    score: float
    snippet: str
    labels: list[str]

    @classmethod
    def of(cls, hit: ArticleHit) -> ArticleHitPublic:
        return cls(id=hit.id, title=hit.title, url=hit.url, score=hit.score,
                   snippet=hit.snippet, labels=hit.labels)


@router.get("/search")
def search(hub: HubDep, q: Annotated[str, Query(max_length=500)] = "",
           limit: Annotated[int, Query()] = 5) -> list[ArticleHitPublic]:
    """The articles best matching `q`, best first."""
    return [ArticleHitPublic.of(hit) for hit in search_articles(hub, q, limit=limit)]
