"""/imports: upload a spreadsheet to import in the background, follow it, get its report."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from fastapi import (
    APIRouter,
    BackgroundTasks,
    File,
    Form,
    Query,
    Response,
    UploadFile,
    status,
)
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from hub.api.deps import HubDep
from hub.errors import HubError, NotFoundError
from hub.importer.pipeline import (
    ImportOptions,
    ImportSummary,
    get_import,
    list_imports,
    resume_import,
    start_import,
)
from hub.runtime import Hub

router = APIRouter(prefix="/imports", tags=["imports"])

_CHUNK = 1 << 20
_MAX_ID = 2**63 - 1  # the store's integer ids
_MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          "csv": "text/csv; charset=utf-8"}


class ImportPublic(BaseModel):
    """An import's progress and result."""

    model_config = {"json_schema_extra": {"examples": [{
        "id": 3, "file_name": "tickets-2026-11.xlsx", "mapping": "tickets_import",
        "status": "partial", "read": 1200, "created": 1150, "updated": 30, "unchanged": 5,
        "rejected": 15, "skipped": 0, "estimated_rows": 1200, "duplicate_of": None,
        "error": None, "report": {"xlsx": "/imports/3/report.xlsx",
                                  "csv": "/imports/3/report.csv"}}]}}

    id: int
    file_name: str
    mapping: str
    status: str = Field(description="queued, running, succeeded, partial or failed.")
    read: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    skipped: int
    estimated_rows: int | None
    duplicate_of: int | None
    error: str | None
    report: dict[str, str] | None  # kind → URL of the error report

    @classmethod
    def of(cls, summary: ImportSummary) -> ImportPublic:
        report = None
        if summary.report_xlsx:
            report = {kind: f"/imports/{summary.id}/report.{kind}" for kind in ("xlsx", "csv")}
        return cls(id=summary.id, file_name=summary.file_name, mapping=summary.mapping,
                   status=summary.status, read=summary.read, created=summary.created,
                   updated=summary.updated, unchanged=summary.unchanged,
                   rejected=summary.rejected, skipped=summary.skipped,
                   estimated_rows=summary.estimated_rows, duplicate_of=summary.duplicate_of,
                   error=summary.error, report=report)


class UploadTooLargeError(HubError):
    http_status = 413
    exit_code = 2


async def _save(hub: Hub, upload: UploadFile) -> Path:
    folder = hub.settings.imports_dir / "uploads"
    await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True, exist_ok=True))
    name = Path(upload.filename or "upload").name
    path = folder / f"{uuid.uuid4().hex}-{name}"
    size, limit = 0, hub.settings.import_max_bytes
    with path.open("wb") as handle:
        while chunk := await upload.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                handle.close()
                path.unlink(missing_ok=True)
                raise UploadTooLargeError(f"{name}: larger than {limit:,} bytes")
            handle.write(chunk)
    return path


def _finish_in_thread(hub: Hub, import_id: int) -> None:
    # Its own event loop in a worker thread: the import's CPU and database work must not
    # stall the API's loop.
    try:
        asyncio.run(resume_import(hub, import_id, actor="api"))
    except HubError:
        pass  # recorded on the import (status failed, error) for GET /imports/{id}


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses={
    200: {"model": ImportPublic, "description": "The same file was imported before: that "
                                                "import (see `duplicate_of`)."},
    404: {"description": "No such mapping."}})
async def create(hub: HubDep, background: BackgroundTasks, response: Response,
                 file: Annotated[UploadFile, File(description="An .xlsx or .csv file")],
                 mapping: Annotated[str, Form()],
                 sheet: Annotated[str | None, Form()] = None,
                 header_row: Annotated[int | None, Form(ge=1)] = None,
                 encoding: Annotated[str | None, Form()] = None,
                 delimiter: Annotated[str | None, Form(max_length=1)] = None,
                 source: Annotated[str, Form(max_length=64)] = "import",
                 force: Annotated[bool, Form()] = False) -> ImportPublic:
    """Store the upload and import it in the background; poll `GET /imports/{id}`."""
    path = await _save(hub, file)
    options = ImportOptions(sheet=int(sheet) if sheet and sheet.isdigit() else sheet,
                            header_row=header_row, encoding=encoding, delimiter=delimiter,
                            source=source)
    summary = await anyio.to_thread.run_sync(lambda: start_import(
        hub, path, mapping=mapping, options=options, force=force, actor="api"))
    response.headers["Location"] = f"/imports/{summary.id}"
    if summary.duplicate_of is not None:
        response.status_code = status.HTTP_200_OK
        path.unlink(missing_ok=True)
        return ImportPublic.of(summary)
    background.add_task(anyio.to_thread.run_sync, _finish_in_thread, hub, summary.id)
    return ImportPublic.of(summary)


@router.get("")
def list_(hub: HubDep, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[ImportPublic]:
    return [ImportPublic.of(summary) for summary in list_imports(hub, limit=limit)]


@router.get("/{import_id}")
def get(import_id: Annotated[int, PathParam(ge=1, le=_MAX_ID)], hub: HubDep) -> ImportPublic:
    return ImportPublic.of(get_import(hub, import_id))


@router.get("/{import_id}/report.{kind}", response_class=FileResponse,
            responses={200: {"content": {media: {} for media in _MEDIA.values()}}})
def report(import_id: Annotated[int, PathParam(ge=1, le=_MAX_ID)],
           kind: Literal["xlsx", "csv"], hub: HubDep) -> Any:
    """The rejected rows with every error, to fix and import again."""
    summary = get_import(hub, import_id)
    path = summary.report_xlsx if kind == "xlsx" else summary.report_csv
    if not path or not Path(path).is_file():
        raise NotFoundError(f"import {import_id} has no error report"
                            f"{'' if summary.status in ('succeeded', 'partial') else ' yet'}")
    return FileResponse(path, media_type=_MEDIA[kind],
                        filename=f"{Path(summary.file_name).stem}.errors.{kind}")
