"""The click path's body: a row whose enrichment is stored in the view's shape is answered
with the stored text put in as it is, and that must be, byte for byte, what writing the
decoded row gives (the ETag hashes it) — whatever the ticket's own fields hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.enrichment.stored import stored_enrichment
from hub.runtime import Hub
from hub.store.models import Ticket
from hub.tickets.reader import body_etag, public_json, read_raw, ticket_body, ticket_row

NOW = datetime(2026, 5, 1, 8, 0, 2, 123456, tzinfo=UTC)
# What the ticket's own fields are written with when the enrichment is left out, and the
# stored text's end: neither may fool the splice from inside a value.
HOSTILE = ['"customer":null,"history":null,"summary":null,"sources":[]', ',"view":1}',
           '{"customer":', "\\", '"', "\u2028", "客户 ☎"]


def _enrichment(name: str) -> dict[str, Any]:
    return {"customer": {"id": 7, "source": "crm", "external_id": "C7", "name": name,
                         "company": None, "mobile": "13812345678", "email": None,
                         "tier": "vip", "attributes": {"note": name}},
            "history": {"customer_id": "C7", "orders": [{"order_no": "SO1", "memo": name}],
                        "interactions": []},
            "summary": {"orders": 1, "total_spent": "0", "last_order_at": None,
                        "interactions": 0},
            "sources": [{"connection": "crm", "status": "ok", "external_id": "C7",
                         "fetched_at": NOW.isoformat(), "attempt": 1}]}


def _store(hub: Hub, subject: str, description: str, enrichment: dict[str, Any] | None
           ) -> int:
    with hub.sessions.begin() as session:
        ticket = Ticket(subject=subject, description=description, channel="web",
                        status="open", enrichment=enrichment, enrichment_status="enriched",
                        created_at=NOW, updated_at=NOW)
        session.add(ticket)
        session.flush()
        return ticket.id


def _both(hub: Hub, ticket_id: int) -> tuple[bytes, bytes]:
    """The body as answered (spliced where it can be) and as the decoded row writes it."""
    dialect = hub.engine.dialect
    raw = read_raw(hub, ticket_id)
    decoded = public_json(ticket_row(dialect, raw))
    assert decoded is not None
    return ticket_body(dialect, raw, []), decoded


@pytest.mark.parametrize("text", HOSTILE)
def test_body__a_spliced_enrichment_is_the_decoded_row_s_body(hub: Hub, text: str) -> None:
    ticket_id = _store(hub, text, text, stored_enrichment(_enrichment(text)))
    answered, decoded = _both(hub, ticket_id)
    assert answered == decoded
    body = json.loads(answered)
    assert (body["subject"], body["description"]) == (text, text)
    assert body["customer"]["name"] == text and body["history"]["orders"][0]["memo"] == text
    assert body["sources"][0]["fetched_at"] == "2026-05-01T08:00:02.123456Z"
    assert body_etag(answered) == body_etag(decoded)


def test_body__the_stored_text_is_what_the_answer_carries(hub: Hub) -> None:
    """On SQLite the enrichment is kept as compact UTF-8 text ending in the mark: the one
    the answer can take as it is (on PostgreSQL JSONB it is decoded and written again)."""
    ticket_id = _store(hub, "s", "d", stored_enrichment(_enrichment("王芳")))
    raw = read_raw(hub, ticket_id)
    texts = [value for value in raw if type(value) is str and "王芳" in value]
    if hub.engine.dialect.name == "sqlite":
        [text] = texts
        assert text.startswith('{"customer":{') and text.endswith(',"view":1}')
        assert text[1:-len(',"view":1}')].encode() in ticket_body(hub.engine.dialect, raw, [])
    else:
        assert texts == []  # psycopg hands JSONB over decoded


@pytest.mark.parametrize("enrichment", [None, _enrichment("旧"), {"summary": None}])
def test_body__rows_stored_otherwise_are_written_from_the_decoded_row(
        hub: Hub, enrichment: dict[str, Any] | None) -> None:
    answered, decoded = _both(hub, _store(hub, "s", "d", enrichment))
    assert answered == decoded


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=st.text(max_size=40), name=st.text(max_size=20))
def test_body__any_text_reads_alike_spliced_or_decoded(hub: Hub, subject: str,
                                                       name: str) -> None:
    ticket_id = _store(hub, subject.replace("\x00", ""), "",
                       stored_enrichment(_enrichment(name.replace("\x00", ""))))
    answered, decoded = _both(hub, ticket_id)
    assert answered == decoded
