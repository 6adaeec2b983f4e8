"""Imports: the list, an upload (CSV or XLSX) imported in the background with its progress
polled, its summary, and its error report downloaded — masked as the API masks it (the
services behind the API's /imports)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Literal

from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from hub.access.masked_files import attachment, masked_file
from hub.config.mapping_files import NAME_RULE
from hub.core.pages import MAX_ID
from hub.errors import HubError, InvalidRequestError, NotFoundError
from hub.importer.background import finish_upload_import, start_upload_import, upload_options
from hub.importer.pipeline import get_import, list_imports, mapping_for_import
from hub.importer.uploads import display_name, save_upload
from hub.runtime import Hub

from ..auth import User
from ..web import (
    SECURITY_HEADERS,
    admitted,
    blocking,
    console_of,
    masked,
    redirect,
    render,
)

__all__ = ["routes"]

PAGE_SIZE = 50
UNDER_WAY = ("queued", "running")
COUNTS = ("read", "created", "updated", "unchanged", "rejected", "skipped")
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "csv": "text/csv; charset=utf-8"}


def importable_mappings(hub: Hub) -> list[str]:
    """The mappings an upload may go through (those `POST /imports` accepts)."""
    names = []
    for name in hub.mappings.names():
        try:
            mapping_for_import(hub, name)
        except HubError:
            continue
        names.append(name)
    return names


@admitted("imports:read")
async def imports(request: Request, user: User) -> Response:
    hub = console_of(request).hub
    cursor = request.query_params.get("cursor") or None
    page = await blocking(list_imports, hub, cursor=cursor, limit=PAGE_SIZE)
    shown = masked(user, {"items": [_public(summary) for summary in page.items]}, request)
    return render(request, "imports.html", imports=shown["items"],
                  next_cursor=page.next_cursor, first_page=cursor is None,
                  mappings=await blocking(importable_mappings, hub),
                  may_upload=user.may("imports:write"))


def _public(summary: object) -> dict[str, object]:
    """What the console shows of an import: what the API answers (never its file's path)."""
    fields = ("id", "file_name", "mapping", "status", *COUNTS, "estimated_rows",
              "duplicate_of", "error", "sheet", "sheet_chosen", "started_at", "finished_at")
    shown: dict[str, object] = {name: getattr(summary, name) for name in fields}
    shown["has_report"] = bool(getattr(summary, "report_xlsx", None))
    return shown


@admitted("imports:write")
async def upload(request: Request, user: User) -> Response:
    """Store the upload (read in chunks, size-capped as the API's) and import it in the
    background; then its page, which follows the import."""
    hub = console_of(request).hub
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise InvalidRequestError("file: choose a .csv or .xlsx file", field="file")
    mapping = form.get("mapping")
    if not isinstance(mapping, str) or NAME_RULE.fullmatch(mapping) is None:
        raise InvalidRequestError("mapping: choose a mapping", field="mapping")
    header_text = str(form.get("header_row") or "").strip()
    if header_text and (not header_text.isdigit() or int(header_text) < 1):
        raise InvalidRequestError("header_row: a row number, 1 or more", field="header_row")
    sheet = str(form.get("sheet") or "").strip() or None
    name = display_name(file.filename)
    await blocking(mapping_for_import, hub, mapping)
    options = upload_options(sheet=sheet, header_row=int(header_text) if header_text else None,
                             encoding=None, delimiter=None, source="import")
    path = await save_upload(file.read, imports_dir=hub.settings.imports_dir,
                             max_bytes=hub.settings.import_max_bytes, name=name)
    summary = await blocking(start_upload_import, hub, path, mapping=mapping, options=options,
                             force=form.get("force") == "on", actor=user.actor,
                             file_name=name)
    response = redirect(request, f"/imports/{summary.id}")
    if summary.duplicate_of is None:
        response.background = BackgroundTask(
            blocking, partial(finish_upload_import, hub, summary.id, actor=user.actor))
    return response


def _import_id(request: Request) -> int:
    import_id: int = request.path_params["import_id"]
    if not 1 <= import_id <= MAX_ID:
        raise NotFoundError(f"no import {import_id}")
    return import_id


@admitted("imports:read")
async def import_page(request: Request, user: User) -> Response:
    summary = await blocking(get_import, console_of(request).hub, _import_id(request))
    return render(request, "import.html", item=masked(user, _public(summary), request),
                  counts=COUNTS, under_way=summary.status in UNDER_WAY)


@admitted("imports:read")
async def progress(request: Request, user: User) -> Response:  # noqa: ARG001
    """JSON the import's page polls while it runs: its status and counts so far."""
    summary = await blocking(get_import, console_of(request).hub, _import_id(request))
    counts = {name: getattr(summary, name) for name in COUNTS}
    return JSONResponse({"status": summary.status, "counts": counts,
                         "estimated_rows": summary.estimated_rows,
                         "finished": summary.status not in UNDER_WAY},
                        headers=SECURITY_HEADERS)


@admitted("imports:read")
async def report(request: Request, user: User) -> Response:
    """The rejected rows with their errors (personal data masked unless the user sees it)."""
    kind: Literal["xlsx", "csv"] = request.path_params["kind"]
    if kind not in MEDIA:
        raise NotFoundError(f"no report .{kind[:10]}")
    summary = await blocking(get_import, console_of(request).hub, _import_id(request))
    path = summary.report_xlsx if kind == "xlsx" else summary.report_csv
    if not path or not Path(path).is_file():
        raise NotFoundError(f"import {summary.id} has no error report")
    filename = f"{Path(summary.file_name).stem}.errors.{kind}"
    headers = {**SECURITY_HEADERS, "Content-Disposition": attachment(filename)}
    if user.principal.sees_personal_data:
        return FileResponse(path, media_type=MEDIA[kind], headers=headers)
    copy = await blocking(masked_file, Path(path), kind=kind,
                          masker=console_of(request).masking.masker)
    if copy.length is not None:
        headers["Content-Length"] = str(copy.length)
    return StreamingResponse(copy.chunks, media_type=MEDIA[kind], headers=headers)


routes = [
    Route("/imports", imports, methods=["GET"]),
    Route("/imports", upload, methods=["POST"]),
    Route("/imports/{import_id:int}", import_page, methods=["GET"]),
    Route("/imports/{import_id:int}/progress.json", progress, methods=["GET"]),
    Route("/imports/{import_id:int}/report.{kind}", report, methods=["GET"]),
]
