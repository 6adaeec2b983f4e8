"""/health: is the store reachable and its schema current?"""

from __future__ import annotations

from fastapi import APIRouter

from hub.api.deps import HubDep
from hub.store.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/health")
def health(hub: HubDep) -> dict[str, str | None]:
    current = current_revision(hub.engine)
    return {"status": "ok" if current == head_revision() else "degraded",
            "schema": current}
