"""Tickets a pull brings from another helpdesk: upserted by `external_ref` through the same
writer as imported tickets (writers.TicketWriter: the same columns, defaults and
attributes), with what a pull's audit names — each new ticket's id, each changed ticket's
changed fields."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.customers.store import Created, UpsertResult
from hub.errors import InvalidRequestError
from hub.store.models import Ticket

from .writers import TicketWriter

__all__ = ["upsert_tickets"]


def upsert_tickets(session: Session, source: str, entities: Sequence[dict[str, Any]], *,
                   mapping: str | None = None) -> UpsertResult:
    """Insert new tickets, update changed ones (matched by `external_ref`, whoever stored
    them), count identical ones unchanged; the rows are named as a pull's audit names them
    (`external_id`: the ticket's external_ref). Namespace the refs in the mapping
    (`zendesk:{{id}}`) so two helpdesks' numbers never meet."""
    for entity in entities:
        if entity.get("external_ref") in (None, ""):
            raise InvalidRequestError(f"a ticket from '{source}' has no external_ref: map "
                                      f"the ticket's number to `external_ref`")
    session.flush()
    writer = TicketWriter(session.connection())
    prepared = writer.prepare(entities, source=source, mapping=mapping or "",
                              now=datetime.now(UTC))
    before = writer.stored_rows(list(prepared.pending))
    columns = writer.columns()
    result, created = UpsertResult(), []
    for key, (values, fingerprint) in prepared.pending.items():
        found = before.get(key)
        if found is None:
            created.append(key)
        elif writer.fingerprint(found[1]) == fingerprint:
            result.unchanged += 1
        else:
            changed = writer.changed_fields(found[1], dict(zip(columns, values, strict=True)))
            result.updated.append((Created(found[0], source, key), changed))
    writer.store(prepared, source=source)
    for ticket, _changed in result.updated:  # a Ticket this session loaded is stale now
        loaded = session.identity_map.get(session.identity_key(Ticket, ticket.id))
        if loaded is not None:
            session.expire(loaded)
    ids = writer.stored_rows(created) if created else {}
    result.created = [Created(ids[key][0], source, key) for key in created]
    return result
