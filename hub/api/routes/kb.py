"""/kb: search the knowledge-base articles kept in the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from hub.api.deps import HubDep
from hub.core.pages import Page
from hub.kb import ArticleHit, search_articles

router = APIRouter(prefix="/kb", tags=["kb"])

MAX_HITS = 50
# One character that is neither whitespace to JSON Schema's regex nor to Python's strip().
_NOT_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"


class ArticleHitPublic(BaseModel):
    """An article matching the query: `score` 0..1, matches in `snippet` between 【 and 】."""

    model_config = {"json_schema_extra": {"examples": [{
        "id": 12, "title": "退款到账时间说明", "url": "https://kb.example.com/pages/12",
        "score": 0.82, "snippet": "原路【退款】一般在 1-3 个工作日内到账……",
        "labels": ["refund", "billing"]}]}}

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
def search(hub: HubDep,
           q: Annotated[str, Query(max_length=500, pattern=_NOT_BLANK,
                                   description="Words to look for (not only spaces).",
                                   examples=["退款 到账"])],
           limit: Annotated[int, Query(ge=1, le=MAX_HITS,
                                       description="How many articles at most.")] = 5,
           ) -> Page[ArticleHitPublic]:
    """The articles best matching `q`, best first: one page of at most `limit` hits, so
    `next_cursor` is always null (ask for a larger `limit` to see more)."""
    hits = search_articles(hub, q, limit=limit)
    return Page[ArticleHitPublic](items=[ArticleHitPublic.of(hit) for hit in hits])
