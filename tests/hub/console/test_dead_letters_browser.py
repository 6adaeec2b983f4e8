"""Dead letters replayed from the console on the current mapping version (ticked, the
default) or as they were made (unticked) — the service the API's replay calls, audited as
the person with the choice made."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from hub.audit.query import query_audit
from hub.outbox import Resolution, dispatch
from hub.outbox.documents import json_document
from hub.outbox.views import list_dead_letters
from hub.store.models import OutboxMessage
from hub.tickets.resolve import resolve_ticket

from .conftest import ConsoleServer, shoot, sign_in

OLD = "kingdee_refund_bill@0"
STALE = {"made_by": "an older mapping"}
REFUND = {"customer_number": "C002", "refund": {"amount": "12.00", "method": "wire"}}


def _second_dead_letter(server: ConsoleServer) -> int:
    """Another refund Kingdee refuses (its period closed again)."""
    server.kingdee.store.closed_before = (date.today() + timedelta(days=2)).isoformat()
    resolve_ticket(server.hub, server.tickets["to_resolve"], Resolution.model_validate(REFUND),
                   actor="test")
    with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this one
        assert thread.submit(asyncio.run, dispatch(server.hub)).result().dead == 1
    server.kingdee.store.closed_before = "2024-01-01"
    return next(row.id for row in list_dead_letters(server.hub).items
                if row.id != server.dead_letter)


def _made_by_an_older_mapping(server: ConsoleServer, row_id: int) -> None:
    with server.hub.sessions.begin() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        row.mapping, row.document = OLD, STALE


def _row(server: ConsoleServer, row_id: int) -> OutboxMessage:
    with server.hub.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        session.expunge(row)
        return row


def _replay_rows(server: ConsoleServer) -> dict[int, Any]:
    rows = query_audit(server.hub.sessions, action="outbox.replay", limit=50).items
    return {row.detail["outbox_id"]: row for row in reversed(rows)}


def test_dead_letters__replayed_as_made_or_on_the_current_mapping(
        console_server: ConsoleServer, new_page: Any) -> None:
    as_made, remade = console_server.dead_letter, _second_dead_letter(console_server)
    for row_id in (as_made, remade):
        _made_by_an_older_mapping(console_server, row_id)
    page = new_page("zh-CN")
    sign_in(page, console_server, console_server.keys.integrator,
            path=f"/outbox/{as_made}")
    box = page.locator("input.current-mapping")
    assert box.is_checked() and "按当前映射版本重新生成" in page.content()
    box.uncheck()
    page.click("#replay-one")
    page.wait_for_url(re.compile(r"/dead-letters\?replayed="))
    row = _row(console_server, as_made)
    assert (row.status, row.mapping, row.document) == ("pending", OLD, STALE)

    page.locator(f"#dead-letters input[name=ids][value='{remade}']").check()
    assert page.locator("#replay-form input.current-mapping").is_checked()
    page.click("#replay-selected")
    page.wait_for_url(re.compile(rf"/dead-letters\?replayed={remade}$"))
    shoot(page, "dead-letters-current-mapping")
    current = console_server.hub.mappings.get("kingdee_refund_bill")
    row = _row(console_server, remade)
    assert (row.status, row.mapping) == ("pending", current.label)
    assert row.document == json_document(current(row.payload, row="check"))

    prefix = console_server.keys.integrator.split("_")[1]
    audit = _replay_rows(console_server)
    assert {audit[as_made].actor, audit[remade].actor} == {f"console:apikey:{prefix}"}
    assert (audit[as_made].detail["current_mapping"], audit[as_made].detail["remapped_from"]) \
        == (False, None)
    assert (audit[remade].detail["current_mapping"], audit[remade].detail["remapped_from"]) \
        == (True, OLD)
