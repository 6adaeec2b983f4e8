"""Enrichment coverage: how many of the window's tickets carry their customer's history."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from hub.runtime import Hub
from hub.store.models import EnrichmentTask, Ticket

from ._sql import at
from .window import ReportWindow

__all__ = ["EnrichmentCoverage", "enrichment_coverage"]


class EnrichmentCoverage(BaseModel):
    """Tickets opened in the window by enrichment status, and the enrichment queue's state."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "total": 86, "by_status": {"enriched": 74, "partial": 6, "not_found": 4, "pending": 2},
        "failed": 1, "queued": 2, "coverage": 0.8605}]})

    total: int
    by_status: dict[str, int] = Field(description=(
        "A ticket's enrichment state: enriched, partial (a source failed or timed out), "
        "failed (a failure no retry mends: the API's ticket reads partial with "
        "enrichment_failure), "
        "not_found (no customer matched), skipped, pending."))
    failed: int = Field(description="Tickets whose enrichment gave up: after its retry budget "
                                    "(they stay partial or pending), or at once for a failure "
                                    "no retry mends (by_status' failed).")
    queued: int = Field(description="Tickets waiting in the enrichment queue.")
    coverage: float = Field(description="enriched / total (0 with no tickets).")


def enrichment_coverage(hub: Hub, window: ReportWindow) -> EnrichmentCoverage:
    opened = [Ticket.created_at >= at(window.start), Ticket.created_at < at(window.end)]
    by_status = select(Ticket.enrichment_status, func.count()).where(*opened) \
        .group_by(Ticket.enrichment_status)
    tasks = select(EnrichmentTask.status, func.count()) \
        .join(Ticket, Ticket.id == EnrichmentTask.ticket_id) \
        .where(*opened, EnrichmentTask.status.in_(("failed", "pending"))) \
        .group_by(EnrichmentTask.status)
    with hub.engine.connect() as connection:
        counts = dict(connection.execute(by_status).all())
        queue = dict(connection.execute(tasks).all())
    total = sum(counts.values())
    return EnrichmentCoverage(
        total=total, by_status=dict(sorted(counts.items())), failed=queue.get("failed", 0),
        queued=queue.get("pending", 0),
        coverage=round(counts.get("enriched", 0) / total, 4) if total else 0.0)
