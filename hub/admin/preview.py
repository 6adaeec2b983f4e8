"""`hub mappings preview`: run a mapping over sample records and show what each becomes.

Samples come from a file or from a connection's stream, read live through its connector.
A spreadsheet (.xlsx, .csv) is read exactly as `hub import` reads it — the same reader, sheet
choice, header row and columns — and its rows are numbered as the import's error report
numbers them (the spreadsheet's row number). JSON, JSON Lines and YAML are records as they
are. Nothing is written to the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from hub.errors import InvalidRequestError, NotFoundError
from hub.ingest.lookups import resolve_lookups
from hub.mapping import CompiledMapping, FieldError, RecordMappingError
from hub.runtime import Hub

__all__ = ["PreviewRow", "is_spreadsheet", "load_sample", "load_table_sample", "preview",
           "read_connection_sample"]


@dataclass
class PreviewRow:
    """One sample record and what the mapping made of it."""

    row: int
    record: Any
    output: dict[str, Any] | None = None
    errors: list[FieldError] = field(default_factory=list)
    skipped: bool = False


def load_sample(path: Path, *, limit: int) -> list[Any]:
    """The first `limit` records of a JSON, JSON Lines or YAML file (a spreadsheet is read
    by `load_table_sample`, as an import reads it)."""
    if not path.is_file():
        raise NotFoundError(f"no sample file {path}")
    raw = path.read_bytes()
    text = _decode(raw, path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            records = [json.loads(line) for line in text.splitlines()[: limit * 2]
                       if line.strip()]
        elif suffix == ".json":
            records = _records(json.loads(text))
        elif suffix in (".yaml", ".yml"):
            records = _records(YAML(typ="safe").load(text))
        else:
            raise InvalidRequestError(f"{path}: sample files are .xlsx, .csv, .json, .jsonl "
                                      f"or .yaml")
    except ValueError as exc:
        raise InvalidRequestError(f"{path}: not a readable sample: {exc}") from None
    return records[:limit]


def _decode(raw: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidRequestError(f"{path}: neither UTF-8 nor GB18030 text")


def _records(data: Any) -> list[Any]:
    if isinstance(data, dict):
        for key in ("data", "records", "items", "rows"):
            if isinstance(data.get(key), list):
                return list(data[key])
        return [data]
    if isinstance(data, list):
        return data
    raise ValueError("expected an object or a list of records")


async def read_connection_sample(hub: Hub, source: str, *, limit: int,
                                 actor: str) -> list[Any]:
    """The first `limit` records of `CONNECTION:STREAM`, read live (state: from the start)."""
    connection, _, stream = source.partition(":")
    if not connection or not stream:
        raise InvalidRequestError(f"--from takes CONNECTION:STREAM, got '{source}'")
    connector = hub.connector(connection, actor=actor)
    records: list[Any] = []
    async with connector:
        async for batch in connector.read(stream):
            records.extend(batch.records)
            if len(records) >= limit:
                break
    return records[:limit]


def is_spreadsheet(path: Path) -> bool:
    """Whether a sample is read as an import reads it (.xlsx, .csv, .tsv, .txt)."""
    return path.suffix.lower() in (".xlsx", ".xlsm", ".csv", ".tsv", ".txt")


def load_table_sample(path: Path, mapping: CompiledMapping, *, limit: int,
                      sheet: str | int | None = None,
                      header_row: int | None = None) -> tuple[list[Any], list[int], str | None]:
    """The first `limit` records of a spreadsheet exactly as `hub import` reads them (the same
    reader, sheet choice, header row and columns), their spreadsheet row numbers (the numbers
    the import's error report gives), and the note on the sheet chosen, if any."""
    from hub.importer.columns import sample_records
    from hub.importer.pipeline import ImportOptions

    if not path.is_file():
        raise NotFoundError(f"no sample file {path}")
    options = ImportOptions(sheet=sheet, header_row=header_row).for_mapping(mapping)
    found, chosen = sample_records(path, mapping, options.reader_options(), limit=limit)
    return [record for _, record in found], [number for number, _ in found], chosen


async def preview(hub: Hub, mapping: CompiledMapping, records: list[Any], *,
                  actor: str, numbers: list[int] | None = None) -> list[PreviewRow]:
    """Each record mapped, with its output, its errors or the fact the filter skipped it;
    `numbers` are the records' row numbers (default 1, 2, 3…)."""
    lookups = await resolve_lookups(hub, mapping, records, actor=actor)
    rows = []
    for number, record in zip(numbers or range(1, len(records) + 1), records, strict=True):
        row = PreviewRow(number, record)
        try:
            row.output = mapping(record, row=number, lookups=lookups)
            row.skipped = row.output is None
        except RecordMappingError as exc:
            row.errors = exc.errors
        rows.append(row)
    return rows
