"""/kb: search the knowledge-base articles kept in the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from hub.api.admission import admitted_router
from hub.api.deps import HubDep
from hub.core.pages import Page
from hub.kb import ArticleMatch, search_articles

router = admitted_router("kb", prefix="/kb", tags=["kb"])

MAX_HITS = 50
# One character that is neither whitespace to JSON Schema's regex nor to Python's strip().
_NOT_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"


@router.get("/search")
def search(hub: HubDep,
           q: Annotated[str, Query(max_length=500, pattern=_NOT_BLANK,
                                   description="Words to look for (not only spaces).",
                                   examples=["退款 到账"])],
           limit: Annotated[int, Query(ge=1, le=MAX_HITS,
                                       description="How many articles at most.")] = 5,
           ) -> Page[ArticleMatch]:
    """The articles best matching `q`, best first: one page of at most `limit` hits, so
    `next_cursor` is always null (ask for a larger `limit` to see more)."""
    hits = search_articles(hub, q, limit=limit)
    return Page[ArticleMatch](items=[ArticleMatch.of(hit) for hit in hits])
