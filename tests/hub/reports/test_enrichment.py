from __future__ import annotations

from hub.reports import ReportWindow, enrichment_coverage
from hub.runtime import Hub
from hub.store.models import EnrichmentTask

from .conftest import NOW, add, hours, ticket


def test_enrichment_coverage__by_status_with_failed_and_queued(report_hub: Hub) -> None:
    opened = NOW - hours(2)
    tickets = add(report_hub, *(ticket(created=opened, enrichment_status=status) for status in
                                ("enriched", "enriched", "enriched", "partial", "not_found",
                                 "pending")),
                  ticket(created=NOW - hours(24 * 40)))  # outside the window
    partial, pending = tickets[3], tickets[5]
    add(report_hub, *(EnrichmentTask(ticket_id=row.id, reason="created", status=status,
                                     due_at=opened, created_at=opened, updated_at=opened)
                      for row, status in ((partial, "failed"), (pending, "pending"),
                                          (tickets[6], "failed"))))
    coverage = enrichment_coverage(report_hub, ReportWindow(now=NOW, days=30))
    assert coverage.total == 6
    assert coverage.by_status == {"enriched": 3, "not_found": 1, "partial": 1, "pending": 1}
    assert (coverage.failed, coverage.queued, coverage.coverage) == (1, 1, 0.5)


def test_enrichment_coverage__no_tickets(report_hub: Hub) -> None:
    coverage = enrichment_coverage(report_hub, ReportWindow(now=NOW, days=30))
    assert (coverage.total, coverage.coverage, coverage.by_status) == (0, 0.0, {})
