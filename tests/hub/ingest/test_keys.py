"""The import writers' cheap paths: keys never written are never looked up, another writer
turns that off, and the attributes text is what the standard JSON encoder writes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from hub.ingest.keys import KeyMemory
from hub.ingest.writers import _CANONICAL, _ENCODER, CustomerWriter, TicketWriter
from hub.runtime import Hub
from hub.store.models import Customer

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def store(database_url: str, make_hub: Any) -> Any:
    runtime = make_hub(database_url)
    yield runtime
    runtime.close()


def entity(i: int, **changes: Any) -> dict[str, Any]:
    return {"external_id": f"C{i}", "name": f"客户{i}", "mobile": "13800000000",
            "balance": Decimal("12.50"), "registered_on": date(2023, 3, 5), **changes}


def asked(connection: sa.Connection) -> list[str]:
    """Collects the SELECTs on customers by external_id run on `connection` from now on."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "external_id IN" in statement:
            statements.append(statement)
    sa.event.listen(connection, "before_cursor_execute", seen)
    return statements


def write(hub: Hub, memory: KeyMemory | None, entities: list[dict[str, Any]],
          statements: list[list[str]] | None = None) -> Any:
    with hub.sessions.begin() as session:
        connection = session.connection()
        queries = asked(connection)
        counts = CustomerWriter(connection).write(entities, source="import", mapping="m@1",
                                                  now=NOW, memory=memory)
        if statements is not None:
            statements.append(queries)
        return counts


def start(hub: Hub) -> KeyMemory:
    with hub.sessions.begin() as session:
        return CustomerWriter(session.connection()).memory(source="import")


def test_new_keys_are_not_looked_up_seen_ones_are(store: Hub) -> None:
    memory, statements = start(store), []
    assert memory.fresh

    first = write(store, memory, [entity(i) for i in range(50)], statements)
    second = write(store, memory, [entity(i) for i in range(50, 100)], statements)
    again = write(store, memory, [entity(3, name="改名"), entity(100)], statements)

    assert (first.created, second.created) == (50, 50)
    assert statements[0] == [] and statements[1] == []  # no key was stored: nothing asked
    assert (again.created, again.updated) == (1, 1) and len(statements[2]) == 1
    with store.sessions() as session:
        assert session.scalar(sa.select(Customer.name).where(Customer.external_id == "C3")) \
            == "改名"
        assert session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 101


def test_rows_stored_before_the_import_are_always_looked_up(store: Hub) -> None:
    write(store, None, [entity(1)])
    memory, statements = start(store), []

    counts = write(store, memory, [entity(1), entity(2)], statements)

    assert not memory.fresh and len(statements[0]) == 1
    assert (counts.created, counts.unchanged) == (1, 1)


def test_another_writer_inserting_meanwhile_turns_the_memory_off(store: Hub) -> None:
    memory = start(store)
    write(store, memory, [entity(1)])
    write(store, None, [entity(2)])  # another import of the same source, between two batches

    statements: list[list[str]] = []
    counts = write(store, memory, [entity(2), entity(3)], statements)

    assert not memory.fresh and len(statements[0]) == 1
    assert (counts.created, counts.unchanged) == (1, 1)  # C2 found, not inserted twice


def test_key_memory_never_forgets_a_key() -> None:
    memory = KeyMemory(Customer.__table__, fresh=True, last_id=None)  # type: ignore[arg-type]
    keys = [f"K{i}" for i in range(20_000)]
    memory.update(keys)
    assert all(key in memory for key in keys)
    assert memory.maybe_written(keys) == keys
    assert sum(f"X{i}" in memory for i in range(20_000)) < 20  # few false positives
    memory.fresh = False
    assert memory.maybe_written(["X1", "X2"]) == ["X1", "X2"]


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)


@given(st.dictionaries(st.text(), values, max_size=6))
def test_attributes_text_is_the_standard_encoders(document: dict[str, Any]) -> None:
    plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert _ENCODER(document) == plain.encode(document)
    assert _CANONICAL(document) == canonical.encode(document)


def test_ticket_rows_prepare_without_a_database() -> None:
    prepared = TicketWriter().prepare(
        [{"external_ref": "T-1", "subject": "a", "金额": Decimal("1.5")},
         {"external_ref": "T-1", "subject": "b"}], source="import", mapping="t@1", now=NOW)
    assert list(prepared.pending) == ["T-1"] and len(prepared.replaced["T-1"]) == 1
    assert dict(zip(TicketWriter.columns(), prepared.pending["T-1"][0], strict=True))[
        "subject"] == "b"


def test_new_rows_go_by_copy_on_postgresql(store: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.ingest.bulk import BulkCopy

    copied: list[int] = []
    run = BulkCopy.run

    def counted(self: BulkCopy, rows: Any) -> None:
        copied.append(len(rows))
        run(self, rows)
    monkeypatch.setattr(BulkCopy, "run", counted)
    memory = start(store)

    write(store, memory, [entity(1), entity(2, company=None)])
    counts = write(store, memory, [entity(2, name="改名"), entity(3)])

    postgres = store.engine.dialect.name == "postgresql"
    assert copied == ([2, 1] if postgres else [])
    assert (counts.created, counts.updated) == (1, 1)
    with store.sessions() as session:
        rows = {c.external_id: c for c in session.scalars(sa.select(Customer))}
    assert rows["C2"].name == "改名" and rows["C2"].company is None
    assert rows["C1"].attributes == {"balance": "12.50", "registered_on": "2023-03-05"}
    assert rows["C1"].created_at == rows["C1"].updated_at
