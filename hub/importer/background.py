"""An uploaded file imported in the background (`POST /imports`): its form's options read,
the import started (the upload dropped when it is not the file the import reads), then
finished in a worker thread, the upload removed once the import is done with it."""

from __future__ import annotations

import asyncio
import codecs
from pathlib import Path

from hub.errors import HubError, InvalidRequestError
from hub.importer.pipeline import (
    ImportOptions,
    ImportSummary,
    get_import,
    resume_import,
    start_import,
)
from hub.importer.uploads import remove_upload
from hub.runtime import Hub

__all__ = ["finish_upload_import", "start_upload_import", "upload_options"]


def upload_options(*, sheet: str | None, header_row: int | None, encoding: str | None,
                   delimiter: str | None, source: str) -> ImportOptions:
    """The import's options from an upload's form: a sheet given as digits is its number."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InvalidRequestError(f"encoding: unknown encoding {encoding!r}") from None
    return ImportOptions(sheet=int(sheet) if sheet and sheet.isdigit() else sheet,
                         header_row=header_row, encoding=encoding, delimiter=delimiter,
                         source=source)


def start_upload_import(hub: Hub, path: Path, *, mapping: str, options: ImportOptions,
                        force: bool, actor: str, file_name: str) -> ImportSummary:
    """`start_import` of a saved upload. The upload is removed when refused, and when the
    import reads another file (a duplicate, or an interrupted import's own copy)."""
    try:
        summary = start_import(hub, path, mapping=mapping, options=options, force=force,
                               actor=actor, file_name=file_name)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if summary.file_path != str(path.resolve()):
        path.unlink(missing_ok=True)
    return summary


def finish_upload_import(hub: Hub, import_id: int, *, actor: str) -> None:
    """Run the started import to its end, in the calling (worker) thread."""
    # Its own event loop in a worker thread: the import's CPU and database work must not
    # stall the API's loop.
    try:
        asyncio.run(resume_import(hub, import_id, actor=actor))
    except HubError:
        pass  # recorded on the import (status failed, error) for GET /imports/{id}
    finally:
        summary = get_import(hub, import_id)
        if summary.status in ("succeeded", "partial", "failed") and summary.file_path:
            # Done with the file: only an interrupted import is read again.
            remove_upload(hub.settings.imports_dir, summary.file_path)
