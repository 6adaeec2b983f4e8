"""A page's rows written at the driver level: an INSERT or UPDATE compiled by SQLAlchemy once
per dialect, then one `executemany` of plain tuples per page (`Connection.exec_driver_sql`);
on PostgreSQL (psycopg) an INSERT is one `COPY … FROM STDIN`.

The ORM's bulk insert with RETURNING spent most of a pull's page in SQLAlchemy's own per-row
work (a result spliced row by row, a `fetchone` per value). Here the values are given as the
driver takes them: JSON documents as their text (the same text the engine's serializer would
write), timestamps through the column type's bind processor once per page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, update

__all__ = ["RowStatement", "stamp"]


class RowStatement:
    """`INSERT INTO table (columns…)` or `UPDATE table SET columns… WHERE id = :row_id`,
    run with one tuple per row (the columns' values in order; an UPDATE's row ends with the
    row's id)."""

    def __init__(self, table: Table, columns: Sequence[str], *, update_by_id: bool = False
                 ) -> None:
        self.table, self.columns = table, list(columns)
        if update_by_id:
            self.statement: Any = update(table).where(table.c.id == bindparam("row_id")) \
                .values({name: bindparam(f"v_{name}") for name in self.columns})
            self.names = [*(f"v_{name}" for name in self.columns), "row_id"]
        else:
            self.statement = insert(table).inline().values(
                {name: bindparam(name) for name in self.columns})
            self.names = list(self.columns)
        self._copy = not update_by_id
        self._compiled: dict[str, tuple[str, list[int] | None]] = {}

    def _sql(self, connection: Connection) -> tuple[str, list[int] | None]:
        dialect = connection.dialect
        key = f"{dialect.name}+{dialect.driver}"
        found = self._compiled.get(key)
        if found is None:
            compiled: Any = self.statement.compile(dialect=dialect)
            order = [self.names.index(name) for name in compiled.positiontup] \
                if compiled.positional else None
            found = self._compiled[key] = (str(compiled), order)
        return found

    def run(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        dialect = connection.dialect
        if self._copy and dialect.name == "postgresql" and dialect.driver == "psycopg":
            self._copy_rows(connection, rows)
            return
        sql, order = self._sql(connection)
        params: list[Any]
        if order is None:
            names = self.names
            params = [dict(zip(names, row, strict=True)) for row in rows]
        elif order == list(range(len(self.names))):
            params = list(rows)
        else:
            params = [tuple(row[index] for index in order) for row in rows]
        connection.exec_driver_sql(sql, params)

    def _copy_rows(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """PostgreSQL: new rows by `COPY … FROM STDIN`, in the connection's transaction (an
        INSERT per row costs a parse and a plan each: prepared statements are off)."""
        preparer = connection.dialect.identifier_preparer
        sql = (f"COPY {preparer.format_table(self.table)} "
               f"({', '.join(preparer.quote(name) for name in self.columns)}) FROM STDIN")
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()


def stamp(connection: Connection, table: Table, column: str, value: datetime) -> Any:
    """`value` as the driver gets it for `column` (SQLite: the text SQLAlchemy writes)."""
    dialect = connection.dialect
    processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return value if processor is None else processor(value)
