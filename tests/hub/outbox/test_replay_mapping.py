"""Replaying a dead letter on the current mapping version, or as it was made: a row whose
job's mapping has changed since is mapped again from its write-back document only when
asked (the default), and the audit row says which."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from connectors.kingdee.sandbox import create_app as create_kingdee_sandbox
from connectors.sdk.sandbox import serve
from hub.audit.query import query_audit
from hub.outbox import Resolution, dispatch
from hub.outbox.documents import json_document
from hub.outbox.views import list_rows, replay_dead_letters
from hub.runtime import Hub
from hub.store.models import OutboxMessage
from hub.tickets import TicketCreate, create_ticket
from hub.tickets.resolve import resolve_ticket

REFUND = {"customer_number": "C002", "refund": {"amount": "88.50", "method": "wire"}}
OLD = "kingdee_refund_bill@0"
STALE_DOCUMENT = {"made_by": "an older mapping"}


@pytest.fixture
def dead_letter(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A refund Kingdee refused (its period closed), then marked as made by an older
    version of its mapping, as a row is when the mapping was saved again since."""
    app = create_kingdee_sandbox(latency_ms=0)
    with serve(app) as url:
        monkeypatch.setenv("KINGDEE_BASE_URL", f"{url}/k3cloud/")
        app.state.sandbox.store.closed_before = (date.today() + timedelta(days=2)).isoformat()
        ticket = asyncio.run(create_ticket(hub, TicketCreate(subject="退款", channel="phone"),
                                           actor="test"))
        resolve_ticket(hub, ticket.id, Resolution.model_validate(REFUND), actor="agent")
        assert asyncio.run(dispatch(hub)).dead == 1
        [dead] = list_rows(hub, status="dead").items
        with hub.sessions.begin() as session:
            row = session.get(OutboxMessage, dead.id)
            assert row is not None
            row.mapping, row.document = OLD, STALE_DOCUMENT
        yield dead.id


def _row(hub: Hub, row_id: int) -> tuple[str, dict[str, Any], str]:
    with hub.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        return row.mapping, row.document, row.status


def _replay_audit(hub: Hub) -> dict[str, Any]:
    [entry, *_] = query_audit(hub.sessions, action="outbox.replay", limit=5).items
    return entry.detail


def test_replay__as_it_was_made_keeps_the_document(hub: Hub, dead_letter: int) -> None:
    assert replay_dead_letters(hub, [dead_letter], actor="ops",
                               current_mapping=False) == [dead_letter]
    assert _row(hub, dead_letter) == (OLD, STALE_DOCUMENT, "pending")
    detail = _replay_audit(hub)
    assert (detail["current_mapping"], detail["remapped_from"], detail["mapping"]) == (
        False, None, OLD)


def test_replay__on_the_current_mapping_maps_the_document_again(hub: Hub,
                                                                dead_letter: int) -> None:
    current = hub.mappings.get("kingdee_refund_bill")
    assert current.label != OLD
    assert replay_dead_letters(hub, [dead_letter], actor="ops") == [dead_letter]  # default
    mapping, document, status = _row(hub, dead_letter)
    with hub.sessions() as session:
        row = session.get(OutboxMessage, dead_letter)
        assert row is not None
        payload = row.payload
    assert (mapping, status) == (current.label, "pending")
    assert document != STALE_DOCUMENT and document == json_document(current(payload, row="check"))
    detail = _replay_audit(hub)
    assert (detail["current_mapping"], detail["remapped_from"], detail["mapping"]) == (
        True, OLD, current.label)
