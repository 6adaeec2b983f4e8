"""The console's 360° view of a ticket whose enrichment failed for good: the badge says
failed, and a notice says when and why and how to try again (issue 24, scope 3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub.tickets import TicketCreate, get_ticket, insert_ticket

from .conftest import ConsoleServer, sign_in

pytestmark = pytest.mark.slow

REASON = "crm refused the request (HTTP 400): bad mobile (not retried: a retry cannot mend this)"


def test_360_view__a_ticket_failed_for_good_shows_failed_when_and_why(
        console_server: ConsoleServer, new_page: Any) -> None:
    hub = console_server.hub
    with hub.sessions.begin() as session:  # as the pipeline settles a failure no retry mends
        ticket = insert_ticket(hub, session, TicketCreate(
            subject="洗衣机不脱水", contact_name="王五", contact_mobile="13700000001"),
            actor="test")
        session.flush()
        ticket_id = ticket.id
        ticket.enrichment_status, ticket.enrichment_error = "failed", REASON
        ticket.enriched_at = datetime(2026, 12, 1, 8, 0, 2, tzinfo=UTC)
    view = get_ticket(hub, ticket_id)
    assert view.enrichment_status == "partial" and view.enrichment_failure is not None

    page = new_page("en")
    sign_in(page, console_server, console_server.keys.admin, path=f"/tickets/{ticket_id}")
    notice = page.locator("#enrichment-failure").inner_text()
    assert "Enrichment failed for good" in notice and "2026-12-01" in notice
    assert REASON in notice and "hub enrich retry" in notice
    assert page.locator("#profile h2 .badge").inner_text() == "failed"
