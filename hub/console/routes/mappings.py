"""Mappings: the list, and an editor — the YAML beside a live preview against a sample file
or pasted records, checked as one types by the real compiler (`hub mappings validate`'s
checks, `hub mappings preview`'s preview); saving writes the mapping's next version, audited
with its diff.

The API has no mappings area: the console admits the roles that configure connections
(integrators and admins: `connections:read` to look, `connections:write` to check and save).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.admin.mapping_edits import (
    check_mapping_text,
    mapping_text,
    mapping_versions,
    save_mapping,
    text_digest,
)
from hub.admin.preview import is_spreadsheet, load_sample, load_table_sample, preview
from hub.config.mapping_files import NAME_RULE
from hub.errors import (
    ConfigFileError,
    ConfigProblem,
    ConflictError,
    HubError,
    InvalidRequestError,
    NotFoundError,
)
from hub.mapping import CompiledMapping
from hub.runtime import Hub

from ..auth import User
from ..web import SECURITY_HEADERS, admitted, blocking, console_of, masked, redirect, render

__all__ = ["routes"]

LOOK, EDIT = "connections:read", "connections:write"
SAMPLE_ROWS = 20
SAMPLE_MAX_BYTES = 5 << 20


def _summaries(hub: Hub) -> list[dict[str, Any]]:
    """Each mapping: its version, target and fields, or that it does not compile."""
    rows = []
    for name in hub.mappings.names():
        mapping, problems = check_mapping_text(hub, name, mapping_text(hub, name))
        rows.append({"name": name, "version": mapping.version if mapping else None,
                     "target": mapping.spec.target if mapping else None,
                     "fields": len(mapping.fields) if mapping else None,
                     "problems": len(problems), "kept": len(mapping_versions(hub, name))})
    return rows


@admitted(LOOK)
async def mappings(request: Request, user: User) -> Response:  # noqa: ARG001
    rows = await blocking(_summaries, console_of(request).hub)
    return render(request, "mappings.html", mappings=rows)


def _name(request: Request) -> str:
    name: str = request.path_params["name"]
    if NAME_RULE.fullmatch(name) is None:
        raise NotFoundError(f"no mapping {name[:64]!r}")
    return name


@admitted(LOOK)
async def editor(request: Request, user: User) -> Response:
    hub = console_of(request).hub
    name = _name(request)
    text = await blocking(mapping_text, hub, name)
    return await _editor(request, user, name, text, problems=[], status=200,
                         saved=request.query_params.get("saved", ""))


async def _editor(request: Request, user: User, name: str, text: str, *,
                  problems: list[ConfigProblem], status: int, saved: str = "",
                  base: str | None = None, conflict: str = "") -> Response:
    """The editor on `text`; `base`: the digest of the saved text the edit started from (by
    default the file's now)."""
    hub = console_of(request).hub
    versions = await blocking(mapping_versions, hub, name)
    if base is None:
        base = text_digest(await blocking(mapping_text, hub, name))
    return render(request, "mapping.html", status=status, name=name, text=text, base=base,
                  problems=[_problem(p) for p in problems], versions=versions, saved=saved,
                  conflict=conflict, may_edit=user.may(EDIT))


def _problem(problem: ConfigProblem) -> dict[str, Any]:
    return {"line": problem.line, "column": problem.column, "field": problem.field,
            "message": problem.message, "file": Path(problem.file).name}


def _text(form: FormData) -> str:
    text = form.get("text")
    if not isinstance(text, str):
        raise InvalidRequestError("text: the mapping's YAML", field="text")
    return text.replace("\r\n", "\n")


async def _sample(form: FormData, mapping: CompiledMapping
                  ) -> tuple[list[Any], list[int] | None, str | None]:
    """The sample records: an uploaded file (read as `hub mappings preview --sample` reads
    it) or pasted JSON (a record or a list of them)."""
    upload = form.get("sample")
    if isinstance(upload, UploadFile) and upload.filename:
        suffix = Path(upload.filename).suffix.lower()[:8]
        data = await upload.read(SAMPLE_MAX_BYTES + 1)
        if len(data) > SAMPLE_MAX_BYTES:
            raise InvalidRequestError("sample: larger than 5 MiB; a few rows are enough",
                                      field="sample")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"sample{suffix}"
            path.write_bytes(data)
            if is_spreadsheet(path):
                records, numbers, chosen = await blocking(load_table_sample, path, mapping,
                                                          limit=SAMPLE_ROWS)
                return records, numbers, chosen
            return await blocking(load_sample, path, limit=SAMPLE_ROWS), None, None
    pasted = form.get("records")
    if not isinstance(pasted, str) or not pasted.strip():
        return [], None, None
    try:
        data = json.loads(pasted)
    except ValueError as exc:
        raise InvalidRequestError(f"records: not JSON: {exc}", field="records") from None
    records = data if isinstance(data, list) else [data]
    return records[:SAMPLE_ROWS], None, None


@admitted(EDIT)
async def check(request: Request, user: User) -> Response:
    """JSON for the editor, as one types: the edit's problems (file, line, column, field)
    and, when it compiles, each sample record beside what the mapping makes of it."""
    hub = console_of(request).hub
    name = _name(request)
    form = await request.form()
    mapping, problems = await blocking(check_mapping_text, hub, name, _text(form))
    answer: dict[str, Any] = {"ok": not problems, "problems": [_problem(p) for p in problems],
                              "version": mapping.version if mapping else None, "rows": [],
                              "note": None, "sample_error": None}
    if mapping is not None:
        try:
            records, numbers, answer["note"] = await _sample(form, mapping)
            rows = await blocking(asyncio.run, preview(hub, mapping, records,
                                                       actor=user.actor, numbers=numbers))
        except HubError as exc:
            answer["sample_error"] = str(exc)
            rows = []
        answer["rows"] = [{"row": row.row, "input": row.record, "output": row.output,
                           "skipped": row.skipped,
                           "errors": [{"field": e.field, "message": e.message, "rule": e.rule}
                                      for e in row.errors]} for row in rows]
    return JSONResponse(masked(user, answer, request), headers=SECURITY_HEADERS)


@admitted(EDIT)
async def save(request: Request, user: User) -> Response:
    """Save the edit as the next version; one that does not compile is shown back with its
    problems, nothing written."""
    hub = console_of(request).hub
    name = _name(request)
    form = await request.form()
    text = _text(form)
    posted = form.get("base")
    base = posted if isinstance(posted, str) and posted else None
    try:
        saved = await blocking(save_mapping, hub, name, text, actor=user.actor, base=base)
    except ConfigFileError as exc:
        return await _editor(request, user, name, text, problems=exc.problems, status=422,
                             base=base)
    except ConflictError as exc:  # the edit is shown back, not lost
        return await _editor(request, user, name, text, problems=[], status=409, base=base,
                             conflict=str(exc))
    return redirect(request, f"/mappings/{quote(name)}?saved={saved.version}")


routes = [
    Route("/mappings", mappings, methods=["GET"]),
    Route("/mappings/{name}", editor, methods=["GET"]),
    Route("/mappings/{name}", save, methods=["POST"]),
    Route("/mappings/{name}/check.json", check, methods=["POST"]),
]
