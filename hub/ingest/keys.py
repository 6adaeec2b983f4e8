"""Which keys an import may already have stored: so that a batch of new keys asks nothing.

    memory = KeyMemory.start(connection, writer, source="import")
    writer.store(prepared, source="import", memory=memory)

An import into a table that held no row of its kind when it started can only meet rows it
wrote itself, as long as nobody else inserts into that table meanwhile. `KeyMemory` keeps a
fixed-size Bloom filter of the keys written (8 MiB, one probe, whatever the file's size:
memory stays flat): a key it has never seen is certainly not stored and is not looked up; a
key it may have seen is (a false positive, ~1.5% of keys after 1,000,000, costs one lookup,
never a wrong answer). Before each batch
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

_BITS = 1 << 26  # 8 MiB; one probe per key: the cheapest in Python
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
        bits, mask = self._bits, _MASK
        for key in keys:
            at = hash(key) & mask
            bits[at >> 3] |= 1 << (at & 7)

    def maybe_written(self, keys: Iterable[str]) -> list[str]:
        """The keys among `keys` this import may have written: all of them unless fresh."""
        if not self.fresh:
            return list(keys)
        bits, mask = self._bits, _MASK
        return [key for key in keys
                if bits[(at := hash(key) & mask) >> 3] & (1 << (at & 7))]

    def __contains__(self, key: str) -> bool:
        """False when `key` was certainly never written by this import."""
        return bool(self.maybe_written([key]))


def _last_id(connection: Connection, table: Table) -> int | None:
    value = connection.execute(select(func.max(table.c.id))).scalar()
    return None if value is None else int(value)
