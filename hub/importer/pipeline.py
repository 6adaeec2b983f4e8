"""Importing a file: read → map → upsert in batches, checkpointed, with an error report.

    summary = await run_import(hub, Path("客户.xlsx"), mapping="import_customers", actor="cli")

Each batch's rows, its rejected rows, the import's counters and its checkpoint (the last
source row done) commit in one transaction, with one audit row. After a crash, running the
same import again (or `resume_import`) skips what was committed and goes on: no row is lost
or written twice. A file already imported through the same mapping version is not imported
again unless `force`; a failed one (the file could not be read as given) is never taken
up again: importing the file again starts afresh.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hub.core.owners import HOST
from hub.core.pages import DEFAULT_LIMIT, Page, decode_cursor, page_of
from hub.ingest.keys import KeyMemory
from hub.ingest.targets import import_writer, importable
from hub.ingest.writers import BulkWriter
from hub.jobs.runs import process_alive

from ..audit import AuditEntry
from ..errors import InvalidRequestError, NotFoundError
from ..mapping import CompiledMapping
from ..runtime import Hub
from ..store.models import Import, ImportReject
from .batches import Head, Mapped
from .stream import mapped_batches
from .uploads import MAX_NAME_BYTES, fits

if TYPE_CHECKING:
    from ._safety import ImportFileError

__all__ = ["ImportOptions", "ImportSummary", "get_import", "import_conflicts", "list_imports",
           "mapping_for_import", "resume_import", "run_import", "start_import"]

FINISHED = ("succeeded", "partial")


@dataclass(frozen=True)
class ImportOptions:
    """How to read the file (all optional: detected when left out)."""

    sheet: str | int | None = None
    header_row: int | None = None
    encoding: str | None = None
    delimiter: str | None = None
    source: str = "import"  # customers' `source`; tickets' default channel
    batch_size: int = 2000

    def reader_options(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "header_row": self.header_row, "encoding": self.encoding,
                "delimiter": self.delimiter}

    def for_mapping(self, mapping: CompiledMapping) -> ImportOptions:
        """These options with the mapping's `sheet:` (1-based) and `header_row:` where they
        leave them out: what the user gives wins."""
        sheet, header_row = self.sheet, self.header_row
        if sheet is None and mapping.spec.sheet is not None:
            given = mapping.spec.sheet
            sheet = given - 1 if isinstance(given, int) else given
        if header_row is None:
            header_row = mapping.spec.header_row
        return replace(self, sheet=sheet, header_row=header_row)

    def matches(self, stored: dict[str, Any]) -> bool:
        """Whether an import stored with `stored` options read the file the same way."""
        wanted = {**self.reader_options(), "source": self.source}
        return {name: stored.get(name) for name in wanted} == wanted


@dataclass
class ImportSummary:
    id: int
    file_name: str
    mapping: str
    status: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    batches: int = 0
    estimated_rows: int | None = None
    checkpoint_row: int = 0
    report_xlsx: str | None = None
    report_csv: str | None = None
    error: str | None = None
    duplicate_of: int | None = None  # set when the file was already imported: a no-op
    sheet: str | None = None  # xlsx: the sheet read
    sheet_chosen: str | None = None  # why that sheet, when the importer chose it
    file_path: str | None = None  # where the file is read from (never shown to API callers)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, row: Import, **changes: Any) -> ImportSummary:
        summary = cls(id=row.id, file_name=row.file_name, mapping=row.mapping,
                      status=row.status, read=row.read, created=row.created,
                      updated=row.updated, unchanged=row.unchanged, rejected=row.rejected,
                      skipped=row.skipped, batches=row.batches,
                      estimated_rows=row.estimated_rows, checkpoint_row=row.checkpoint_row,
                      report_xlsx=row.report_xlsx, report_csv=row.report_csv, error=row.error,
                      file_path=row.file_path, started_at=row.started_at,
                      finished_at=row.finished_at, sheet=row.sheet,
                      sheet_chosen=(row.headers or {}).get("sheet_chosen"))
        for name, value in changes.items():
            setattr(summary, name, value)
        return summary


Progress = Callable[[ImportSummary], None]


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 of the file's bytes, and its size."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def mapping_for_import(hub: Hub, name: str) -> tuple[CompiledMapping, type[BulkWriter]]:
    """The mapping `name` and what it writes; refused unless it writes customers or
    tickets matched on their key."""
    mapping = hub.mappings.get(name)
    target = import_writer(mapping.spec.target)
    if target is None:
        raise InvalidRequestError(f"mapping '{name}' produces '{mapping.spec.target}'; imports "
                                  f"write {' or '.join(importable())} (set `target:` in the "
                                  "mapping)")
    missing = [f for f in target.required_fields if f not in mapping.fields]
    if missing:
        raise InvalidRequestError(f"mapping '{name}' must define {', '.join(missing)}: "
                                  f"imported {target.name}s are matched on it")
    conflicts = import_conflicts(mapping)
    if conflicts:
        raise InvalidRequestError(f"mapping '{name}' ({mapping.spec.target}): "
                                  + "; ".join(message for _, message in conflicts))
    return mapping, target


def import_conflicts(mapping: CompiledMapping) -> list[tuple[str, str]]:
    """(field, message) for each field of `mapping` its import target would drop (none when
    it is no import mapping): `hub mappings validate` reports them with their line."""
    target = import_writer(mapping.spec.target)
    return target.conflicts(list(mapping.fields)) if target is not None else []


async def run_import(hub: Hub, path: Path, *, mapping: str,
                     options: ImportOptions = ImportOptions(), force: bool = False,
                     actor: str, progress: Progress | None = None) -> ImportSummary:
    """Import `path` through `mapping`; resumes an unfinished import of the same file."""
    started = start_import(hub, path, mapping=mapping, options=options, force=force,
                           actor=actor)
    if started.duplicate_of is not None:
        return started
    compiled, target = mapping_for_import(hub, mapping)
    return await _run(hub, started.id, path, compiled, target, options.for_mapping(compiled),
                      actor, progress)


def start_import(hub: Hub, path: Path, *, mapping: str,
                 options: ImportOptions = ImportOptions(), force: bool = False,
                 actor: str, file_name: str | None = None) -> ImportSummary:
    """Register an import of `path` (or find the interrupted one of the same file) without
    reading it; `duplicate_of` is set when the file was already imported (a no-op).

    The same file means the same bytes, mapping version and reading options; `file_name`
    is the name shown for it (default: the path's own name)."""
    compiled, target = mapping_for_import(hub, mapping)
    options = options.for_mapping(compiled)
    shown = file_name or path.name
    if not path.is_file():
        raise NotFoundError(f"no file {shown}")
    digest, size = file_digest(path)
    with hub.sessions.begin() as session:
        previous = _previous_import(session, digest, compiled.label, options)
        if previous is not None and previous.status in FINISHED and not force:
            hub.audit.append(session, [AuditEntry(
                actor, "import.skip", f"import:{previous.id}",
                detail={"file": shown, "sha256": digest, "reason": "already imported"})])
            return ImportSummary.of(previous, duplicate_of=previous.id)
        if previous is not None and previous.status not in FINISHED:
            if previous.status == "running" and process_alive(previous.pid, previous.host):
                raise InvalidRequestError(f"import {previous.id} of this file is running "
                                          f"(pid {previous.pid})")
            if not _holds(Path(previous.file_path), digest):
                previous.file_path = str(path.resolve())  # its copy is gone: read this one
            import_id = previous.id  # an interrupted import of the same file: go on with it
        else:
            row = Import(file_name=shown, file_path=str(path.resolve()),
                         content_hash=digest, size=size, mapping=compiled.label,
                         target=target.name, source=options.source,
                         options={**options.reader_options(), "source": options.source,
                                  "batch_size": options.batch_size},
                         status="queued", checkpoint_row=0, batches=0, read=0, created=0,
                         updated=0, unchanged=0, rejected=0, skipped=0, actor=actor,
                         host=HOST, pid=None, started_at=datetime.now(UTC))
            session.add(row)
            session.flush()
            import_id = row.id
            hub.audit.append(session, [AuditEntry(
                actor, "import.start", f"import:{import_id}",
                detail={"file": shown, "sha256": digest, "bytes": size,
                        "mapping": compiled.label, "target": target.name})])
        return ImportSummary.of(session.get_one(Import, import_id))


def _previous_import(session: Session, digest: str, label: str,
                     options: ImportOptions) -> Import | None:
    """The latest import of the same bytes through the same mapping version, read with the
    same options, that did not fail (a failed one is done with: it is never taken up)."""
    return next((candidate for candidate in session.scalars(
        select(Import).where(Import.content_hash == digest, Import.mapping == label,
                             Import.status != "failed")
        .order_by(Import.id.desc()))
        if options.matches(candidate.options)), None)


def _holds(path: Path, digest: str) -> bool:
    return path.is_file() and file_digest(path)[0] == digest


async def resume_import(hub: Hub, import_id: int, *, actor: str,
                        progress: Progress | None = None) -> ImportSummary:
    """Finish import `import_id` from its checkpoint (the file must be unchanged)."""
    with hub.sessions() as session:
        row = session.get(Import, import_id)
        if row is None:
            raise NotFoundError(f"no import {import_id}")
        if row.status in FINISHED:
            return ImportSummary.of(row)
        if row.status == "running" and process_alive(row.pid, row.host):
            raise InvalidRequestError(f"import {import_id} is running (pid {row.pid})")
        path, label, stored = Path(row.file_path), row.mapping, dict(row.options)
        shown = row.file_name
    name, _, _version = label.rpartition("@")
    compiled, target = mapping_for_import(hub, name)
    if compiled.label != label:
        raise InvalidRequestError(f"import {import_id} ran with {label}; the mapping is now "
                                  f"{compiled.label}. Start a new import (--force) instead")
    if not _holds(path, _stored_hash(hub, import_id)):
        raise InvalidRequestError(f"import {import_id}: its copy of {shown} is missing or "
                                  f"has changed; import the file again")
    options = ImportOptions(sheet=stored.get("sheet"), header_row=stored.get("header_row"),
                            encoding=stored.get("encoding"), delimiter=stored.get("delimiter"),
                            source=stored.get("source", "import"),
                            batch_size=int(stored.get("batch_size", 2000)))
    return await _run(hub, import_id, path, compiled, target, options, actor, progress)


def _stored_hash(hub: Hub, import_id: int) -> str:
    with hub.sessions() as session:
        return session.get_one(Import, import_id).content_hash


def get_import(hub: Hub, import_id: int) -> ImportSummary:
    with hub.sessions() as session:
        row = session.get(Import, import_id)
        if row is None:
            raise NotFoundError(f"no import {import_id}")
        return ImportSummary.of(row)


def list_imports(hub: Hub, *, cursor: str | None = None,
                 limit: int = DEFAULT_LIMIT) -> Page[ImportSummary]:
    """Imports, newest first."""
    query = select(Import).order_by(Import.id.desc()).limit(limit + 1)
    after = decode_cursor("import", cursor)
    if after is not None:
        query = query.where(Import.id < after)
    with hub.sessions() as session:
        rows = session.scalars(query).all()
        return page_of("import", rows, limit, key=lambda r: r.id, view=ImportSummary.of)


async def _run(hub: Hub, import_id: int, path: Path, mapping: CompiledMapping,
               target: type[BulkWriter], options: ImportOptions, actor: str,
               progress: Progress | None) -> ImportSummary:
    from .readers import ImportFileError

    with hub.sessions.begin() as session:
        row = session.get_one(Import, import_id)
        row.status, row.pid, row.host, row.error = "running", os.getpid(), HOST, None
        checkpoint = row.checkpoint_row
    try:
        items = mapped_batches(hub, path, mapping, target, options.reader_options(),
                               checkpoint=checkpoint, size=options.batch_size,
                               source=options.source, actor=actor)
        async with aclosing(items):
            memory: KeyMemory | None = None
            async for item in items:
                if isinstance(item, Head):
                    memory = _started(hub, import_id, item, target, options)
                    continue
                assert memory is not None
                summary = _store(hub, import_id, item, target, options, actor, memory,
                                 label=mapping.label)
                if progress:
                    progress(summary)
    except ImportFileError as exc:
        _finish(hub, import_id, "failed", _named(exc, path, shown=_shown_name(hub, import_id)),
                actor)
        raise
    except BaseException:
        _finish(hub, import_id, "interrupted", "stopped before the end of the file", actor)
        raise
    _write_reports(hub, import_id)
    return _finish(hub, import_id, None, None, actor)


def _shown_name(hub: Hub, import_id: int) -> str:
    with hub.sessions() as session:
        return session.get_one(Import, import_id).file_name


def _named(exc: ImportFileError, path: Path, *, shown: str) -> str:
    """The error as the user knows the file: by the name it was imported under, never by
    where it is kept."""
    reason = exc.reason.replace(str(path.resolve()), shown).replace(str(path), shown)
    return f"{shown}: {reason}"


def _started(hub: Hub, import_id: int, head: Head, target: type[BulkWriter],
             options: ImportOptions) -> KeyMemory:
    """Record what the file is; what the import knows of the keys stored as it starts."""
    with hub.sessions.begin() as session:
        row = session.get_one(Import, import_id)
        row.sheet = head.sheet
        row.headers = {"columns": head.headers, "sheet_chosen": head.chosen}
        row.estimated_rows = head.estimated_rows
        return target(session.connection()).memory(source=options.source)


def _store(hub: Hub, import_id: int, batch: Mapped, target: type[BulkWriter],
           options: ImportOptions, actor: str, memory: KeyMemory, *,
           label: str) -> ImportSummary:
    """Write one mapped batch, its rejected rows, counters, checkpoint and audit row in one
    transaction."""
    rejects = [{"import_id": import_id, **reject} for reject in batch.rejects]
    with hub.sessions.begin() as session:
        _checkpoint_less_often(session)
        counts = target(session.connection()).store(batch.prepared, source=options.source,
                                                    memory=memory)
        if rejects:
            session.execute(insert(ImportReject), rejects)
        row = session.get_one(Import, import_id)
        row.read += batch.read
        row.created += counts.created
        row.updated += counts.updated
        row.unchanged += counts.unchanged
        row.rejected += len(rejects)
        row.skipped += batch.skipped
        row.batches += 1
        row.checkpoint_row = batch.last
        hub.audit.append(session, [AuditEntry(
            actor, "import.batch", f"import:{import_id}",
            outcome="partial" if rejects else "ok",
            detail={"rows": [batch.first, batch.last], "read": batch.read,
                    "created": counts.created, "updated": counts.updated,
                    "unchanged": counts.unchanged, "rejected": len(rejects),
                    "skipped": batch.skipped, "mapping": label})])
        return ImportSummary.of(row)


# SQLite copies its write-ahead log into the database file at a commit once the log holds
# this many pages (the default is 1,000: 4 MiB, every other batch of a large import, and the
# same index pages copied again each time). 64 MiB halves the import's commit time; the log
# is bounded still, and copied in full when the last connection closes.
IMPORT_WAL_PAGES = 16384


def _checkpoint_less_often(session: Session) -> None:
    """On SQLite, let this connection's log grow to IMPORT_WAL_PAGES before it is copied."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={IMPORT_WAL_PAGES}")


def _write_reports(hub: Hub, import_id: int) -> None:
    from .report import CellError, RejectedRow, write_report

    with hub.sessions() as session:
        row = session.get_one(Import, import_id)
        if not row.rejected:
            return
        headers = list((row.headers or {}).get("columns", []))
        folder = hub.settings.imports_dir / str(import_id)
        folder.mkdir(parents=True, exist_ok=True)
        stem = fits(Path(row.file_name).stem, MAX_NAME_BYTES)
        paths = {}
        for kind in ("xlsx", "csv"):
            rejects = session.scalars(select(ImportReject)
                                      .where(ImportReject.import_id == import_id)
                                      .order_by(ImportReject.row_number)
                                      .execution_options(yield_per=1000))
            rows = (RejectedRow(reject.row_number, list(reject.values["values"]),
                                [CellError(e["column"], e["message"])
                                 for e in reject.errors["errors"]])
                    for reject in rejects)
            path = folder / f"{stem}.errors.{kind}"
            write_report(path, headers=headers, rows=rows, kind=kind)
            paths[kind] = str(path)
    with hub.sessions.begin() as session:
        row = session.get_one(Import, import_id)
        row.report_xlsx, row.report_csv = paths["xlsx"], paths["csv"]


def _finish(hub: Hub, import_id: int, status: str | None, error: str | None,
            actor: str) -> ImportSummary:
    with hub.sessions.begin() as session:
        row = session.get_one(Import, import_id)
        row.status = status or ("partial" if row.rejected else "succeeded")
        row.error = error
        row.finished_at = datetime.now(UTC)
        row.pid = None
        hub.audit.append(session, [AuditEntry(
            actor, "import.finish", f"import:{import_id}", outcome=row.status,
            detail={"file": row.file_name, "mapping": row.mapping, "read": row.read,
                    "created": row.created, "updated": row.updated,
                    "unchanged": row.unchanged, "rejected": row.rejected,
                    "skipped": row.skipped, "report": row.report_xlsx, "error": error,
                    "sheet": row.sheet,
                    "sheet_chosen": (row.headers or {}).get("sheet_chosen")})])
        return ImportSummary.of(row)
