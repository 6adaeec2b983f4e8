"""Which keys an import may already have stored: so that a batch of new keys asks nothing.

    memory = KeyMemory.start(connection, writer, source="import")
    writer.store(prepared, source="import", memory=memory)

An import into a table that held no row of its kind when it started can only meet rows it
wrote itself, as long as nobody else inserts into that table meanwhile. `KeyMemory` keeps a
fixed-size Bloom filter of the keys written (2 MiB whatever the file's size: memory stays
flat): a key it has never seen is certainly not stored and is not looked up; a key it may have
seen is (a false positive costs one lookup, never a wrong answer). Before each batch
`check` compares the table's highest id with the one this import left: when another writer
inserted in between, the memory stops answering (`fresh` is False) and every key is looked up,
as without it. An import that resumes starts afresh: the table then holds its earlier rows,
so every key is looked up.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, func, select

__all__ = ["KeyMemory"]

_BITS = 1 << 24  # 2 MiB: ~1.3% false positives after 1,000,000 keys (two probes)
_MASK = _BITS - 1


class KeyMemory:
    """The keys one import wrote, as a Bloom filter; `fresh` while it alone writes the table."""

    def __init__(self, table: Table, *, fresh: bool, last_id: int | None) -> None:
        self.table = table
        self.fresh = fresh
        self.last_id = last_id
        self._bits = bytearray(_BITS >> 3) if fresh else bytearray()

    @classmethod
    def start(cls, connection: Connection, table: Table, *, empty: Any) -> KeyMemory:
        """The memory of an import into `table`; `empty`: the condition under which the
        table holds none of the rows the import could match (e.g. `source = 'import'`)."""
        holds = connection.execute(select(table.c.id).where(empty).limit(1)).first()
        return cls(table, fresh=holds is None, last_id=_last_id(connection, table))

    def check(self, connection: Connection) -> None:
        """Stop answering if another writer inserted since this import's last batch."""
        if self.fresh and _last_id(connection, self.table) != self.last_id:
            self.fresh = False
            self._bits = bytearray()

    def written(self, connection: Connection) -> None:
        """Note the table's highest id after this import's batch."""
        if self.fresh:
            self.last_id = _last_id(connection, self.table)

    def update(self, keys: Iterable[str]) -> None:
        if not self.fresh:
            return
        bits = self._bits
        for key in keys:
            code = hash(key)
            first, second = code & _MASK, (code >> 24) & _MASK
            bits[first >> 3] |= 1 << (first & 7)
            bits[second >> 3] |= 1 << (second & 7)

    def __contains__(self, key: str) -> bool:
        """False when `key` was certainly never written by this import."""
        if not self.fresh:
            return True
        code = hash(key)
        first, second = code & _MASK, (code >> 24) & _MASK
        bits = self._bits
        return bool(bits[first >> 3] & (1 << (first & 7))
                    and bits[second >> 3] & (1 << (second & 7)))


def _last_id(connection: Connection, table: Table) -> int | None:
    value = connection.execute(select(func.max(table.c.id))).scalar()
    return None if value is None else int(value)
