"""An import's batches: read from the table, mapped and prepared for their writer — the
same steps whether they run in the importing process or in a worker (stream.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.core.jsonable import to_jsonable
from hub.ingest.writers import BulkWriter, Prepared

from ..core.cells import ExcelError
from ..mapping import CompiledMapping, LookupTables, RecordMappingError
from ..mapping.columnar import ColumnarMapping, MappedColumns
from ..mapping.paths import Key, parse_path
from .columns import checked_headers, open_for_mapping, restored
from .report import ERRORS_COLUMN

if TYPE_CHECKING:
    from .readers import Table

__all__ = ["Head", "Mapped", "local_items", "map_batch", "read_batches", "records_of",
           "restored_rows"]


@dataclass(frozen=True)
class Head:
    """What the file is, before its first row."""

    headers: list[str]
    sheet: str | None
    chosen: str | None
    estimated_rows: int | None


@dataclass
class Mapped:
    """One batch, mapped and prepared: source rows `first`…`last` (`read` of them)."""

    first: int
    last: int
    read: int
    prepared: Prepared
    rejects: list[dict[str, Any]]  # without their import_id
    skipped: int


def read_batches(table: Table, checkpoint: int,
                 size: int) -> Iterator[list[tuple[int, list[Any]]]]:
    """The table's rows after `checkpoint`, `size` at a time."""
    batch: list[tuple[int, list[Any]]] = []
    for row_number, values in table.rows():
        if row_number <= checkpoint:
            continue
        batch.append((row_number, values))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def restored_rows(batch: list[tuple[int, list[Any]]],
                  headers: list[str]) -> list[tuple[int, list[Any]]]:
    """The batch's rows; from our own error report (fixed and imported again), each value
    as it was before the report made it inert."""
    if ERRORS_COLUMN in headers:
        return [(number, [restored(value) for value in values]) for number, values in batch]
    return batch


def records_of(batch: list[tuple[int, list[Any]]],
               headers: list[str]) -> tuple[list[tuple[int, list[Any]]], list[dict[str, Any]]]:
    batch = restored_rows(batch, headers)
    return batch, [dict(zip(headers, values, strict=False)) for _, values in batch]


def map_batch(batch: list[tuple[int, list[Any]]], records: list[dict[str, Any]] | None,
              headers: list[str], mapping: CompiledMapping, lookups: LookupTables | None,
              target: type[BulkWriter], source: str, *,
              columnar: ColumnarMapping | None = None) -> Mapped:
    """Map and prepare a batch. With `columnar` (no lookups), the rows it decides are mapped
    a column at a time and the row engine maps only the others; `records` (the rows as
    dicts) may then be None: the few the row engine needs are made here."""
    if columnar is not None and not columnar.omit_nulls:
        made = columnar.map_columns([values for _, values in batch])
        if made is not None:
            by_columns = _map_by_columns(batch, made, headers, mapping, target, source)
            if by_columns is not None:
                return by_columns
    entities, rejects, skipped = [], [], 0
    function = mapping.function
    decided = columnar.map_rows([values for _, values in batch]) if columnar is not None \
        else [None] * len(batch)
    for position, ((row_number, values), entity) in enumerate(zip(batch, decided,
                                                                    strict=True)):
        if entity is not None:
            entities.append(entity)
            continue
        record = records[position] if records is not None \
            else dict(zip(headers, values, strict=False))
        try:
            entity = function(record, row_number, lookups)
        except RecordMappingError as exc:
            rejects.append(_reject(row_number, values, exc, headers))
            continue
        if entity is None:
            skipped += 1
        else:
            entities.append(entity)
    prepared = target().prepare(entities, source=source, mapping=mapping.label,
                                now=datetime.now(UTC))
    return Mapped(batch[0][0], batch[-1][0], len(batch), prepared, rejects, skipped)


def _map_by_columns(batch: list[tuple[int, list[Any]]], made: MappedColumns,
                    headers: list[str], mapping: CompiledMapping, target: type[BulkWriter],
                    source: str) -> Mapped | None:
    """A batch mapped by columns, prepared from its columns (no dict per row): the row engine
    maps the undecided rows, whose values then take their place in the columns, or which are
    rejected. None when the row engine's output has other fields (map it row by row)."""
    rejects, dropped = [], []
    columns = made.columns
    for position in made.undecided:
        row_number, values = batch[position]
        try:
            entity = mapping.function(dict(zip(headers, values, strict=False)), row_number)
        except RecordMappingError as exc:
            rejects.append(_reject(row_number, values, exc, headers))
            dropped.append(position)
            continue
        flat = None if entity is None else made.values_of(entity)
        if flat is None:
            return None
        for column, value in zip(columns, flat, strict=True):
            column[position] = value
    if dropped:
        gone = set(dropped)
        kept = [position for position in range(len(batch)) if position not in gone]
        if len(kept) > 1:
            pick = itemgetter(*kept)  # a C loop per column
            columns = [pick(column) for column in columns]
        else:
            columns = [[column[position] for position in kept] for column in columns]
    prepared = target().prepare_columns(made.names, columns, source=source,
                                        mapping=mapping.label, now=datetime.now(UTC))
    return Mapped(batch[0][0], batch[-1][0], len(batch), prepared, rejects, 0)


def _reject(row_number: int, values: list[Any], exc: RecordMappingError,
            headers: list[str]) -> dict[str, Any]:
    """A rejected row as stored (its import_id added when it is)."""
    return {"row_number": row_number, "values": {"values": to_jsonable(_shown(values))},
            "errors": {"errors": _reject_errors(exc.errors, headers)}}


def _shown(values: list[Any]) -> list[Any]:
    """A rejected row's values as stored for its report: an error cell as its text."""
    return [str(v) if type(v) is ExcelError else v for v in values]


def _reject_errors(errors: list[Any], headers: list[str]) -> list[dict[str, Any]]:
    found = []
    for error in errors:
        column = None
        if error.path:
            first = parse_path(error.path)[0]
            if isinstance(first, Key) and first.name in headers:
                column = first.name
        found.append({"column": column, "message": f"{error.field}: {error.message}"
                      if column is None or error.field != column else error.message})
    return found


def local_items(path: Path, mapping: CompiledMapping, reader: dict[str, Any], checkpoint: int,
                size: int) -> Iterator[Head | list[tuple[int, list[Any]]]]:
    """The Head, then the raw batches (the caller maps them: it may need lookups)."""
    table, chosen = open_for_mapping(path, mapping, reader)
    with table:
        headers = checked_headers(path, table, mapping)
        yield Head(headers, table.sheet, chosen, table.estimated_rows)
        yield from read_batches(table, checkpoint, size)
