"""/imports: upload a spreadsheet to import in the background, follow it, get its report."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from fastapi import (
    BackgroundTasks,
    Depends,
    File,
    Form,
    Query,
    Response,
    UploadFile,
    status,
)
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel

from hub.api.admission import admitted_router
from hub.api.deps import ActorDep, HubDep
from hub.api.input_guard import refuse_nul_in_form
from hub.api.masked_downloads import DownloadMaskerDep, masked_download
from hub.config.mapping_files import NAME_RULE
from hub.core.pages import DEFAULT_LIMIT, MAX_LIMIT, Page
from hub.errors import NotFoundError
from hub.importer.background import finish_upload_import, start_upload_import, upload_options
from hub.importer.pipeline import ImportSummary, get_import, list_imports, mapping_for_import
from hub.importer.uploads import display_name, save_upload

router = admitted_router("imports", prefix="/imports", tags=["imports"])

_MAX_ID = 2**31 - 1  # the store's integer ids are 32-bit: larger ones are a 422
# A mapping is named, never located: refused here, before the upload is stored.
_MAPPING_NAME = f"^(?:{NAME_RULE.pattern})$"
_CURSOR = "`next_cursor` of the previous page"
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
    status: Literal["queued", "running", "succeeded", "partial", "failed", "interrupted"]
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


@router.post("", status_code=status.HTTP_202_ACCEPTED,
             dependencies=[Depends(refuse_nul_in_form)], responses={
    200: {"model": ImportPublic, "description": "The same file was imported before: that "
                                                "import (see `duplicate_of`)."},
    404: {"description": "No such mapping."},
    507: {"description": "The uploads waiting to be imported fill the room kept for them."}})
async def create(hub: HubDep, actor: ActorDep, background: BackgroundTasks,
                 response: Response,
                 file: Annotated[UploadFile, File(description="An .xlsx or .csv file")],
                 mapping: Annotated[str, Form(max_length=64, pattern=_MAPPING_NAME,
                                              description="A mapping's name.")],
                 sheet: Annotated[str | None, Form()] = None,
                 header_row: Annotated[int | None, Form(ge=1)] = None,
                 encoding: Annotated[str | None, Form()] = None,
                 delimiter: Annotated[str | None, Form(max_length=1)] = None,
                 source: Annotated[str, Form(max_length=64)] = "import",
                 force: Annotated[bool, Form()] = False) -> ImportPublic:
    """Store the upload and import it in the background; poll `GET /imports/{id}`.

    The same bytes imported before through the same mapping version and options answer
    200 with that import (`duplicate_of`) unless `force`; after a failed import, the file
    is imported afresh."""
    name = display_name(file.filename)
    await anyio.to_thread.run_sync(mapping_for_import, hub, mapping)
    options = upload_options(sheet=sheet, header_row=header_row, encoding=encoding,
                             delimiter=delimiter, source=source)
    path = await save_upload(file.read, imports_dir=hub.settings.imports_dir,
                             max_bytes=hub.settings.import_max_bytes, name=name)
    summary = await anyio.to_thread.run_sync(lambda: start_upload_import(
        hub, path, mapping=mapping, options=options, force=force, actor=actor,
        file_name=name))
    response.headers["Location"] = f"/imports/{summary.id}"
    if summary.duplicate_of is not None:
        response.status_code = status.HTTP_200_OK
        return ImportPublic.of(summary)
    background.add_task(anyio.to_thread.run_sync,
                        partial(finish_upload_import, hub, summary.id, actor=actor))
    return ImportPublic.of(summary)


@router.get("")
def list_(hub: HubDep,
          cursor: Annotated[str | None, Query(max_length=200, description=_CURSOR)] = None,
          limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT) -> Page[ImportPublic]:
    """Imports, newest first."""
    page = list_imports(hub, cursor=cursor, limit=limit)
    return Page[ImportPublic](items=[ImportPublic.of(summary) for summary in page.items],
                              next_cursor=page.next_cursor)


@router.get("/{import_id}")
def get(import_id: Annotated[int, PathParam(ge=1, le=_MAX_ID)], hub: HubDep) -> ImportPublic:
    return ImportPublic.of(get_import(hub, import_id))


@router.get("/{import_id}/report.{kind}", response_class=FileResponse,
            responses={200: {"content": {media: {} for media in _MEDIA.values()}}})
def report(import_id: Annotated[int, PathParam(ge=1, le=_MAX_ID)],
           kind: Literal["xlsx", "csv"], hub: HubDep, masker: DownloadMaskerDep) -> Any:
    """The rejected rows with every error, to fix and import again (personal data masked
    for a caller without the `pii` scope)."""
    summary = get_import(hub, import_id)
    path = summary.report_xlsx if kind == "xlsx" else summary.report_csv
    if not path or not Path(path).is_file():
        raise NotFoundError(f"import {import_id} has no error report"
                            f"{'' if summary.status in ('succeeded', 'partial') else ' yet'}")
    filename = f"{Path(summary.file_name).stem}.errors.{kind}"
    if masker is not None:
        return masked_download(Path(path), kind=kind, media_type=_MEDIA[kind],
                               filename=filename, masker=masker)
    return FileResponse(path, media_type=_MEDIA[kind], filename=filename)
