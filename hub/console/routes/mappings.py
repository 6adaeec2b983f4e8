"""Mappings: the list (and a new mapping from a template), and an editor — the YAML beside a
live preview against a sample file, pasted records or live records read from a connection
(`hub mappings preview --from`'s read, audited as the person), checked as one types by the
real compiler (`hub mappings validate`'s checks, `hub mappings preview`'s preview); saving
writes the mapping's next version, audited with its diff, and so does restoring a kept
version.

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

from connectors.sdk import ConnectorError
from hub.admin.mapping_edits import (
    check_mapping_text,
    create_mapping,
    mapping_text,
    mapping_versions,
    restore_mapping,
    save_mapping,
    text_digest,
)
from hub.admin.preview import (
    is_spreadsheet,
    load_sample,
    load_table_sample,
    preview,
    read_connection_sample,
)
from hub.config import PullJob
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
async def mappings(request: Request, user: User) -> Response:
    rows = await blocking(_summaries, console_of(request).hub)
    return render(request, "mappings.html", mappings=rows, may_edit=user.may(EDIT),
                  error="", new_name="")


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@admitted(EDIT)
async def create(request: Request, user: User) -> Response:
    """A new mapping, a copy of the chosen one at version 1; then its editor. A bad or
    taken name is shown back on the list."""
    hub = console_of(request).hub
    form = await request.form()
    name, template = _form_text(form, "name")[:64], _form_text(form, "template")[:64]
    try:
        created = await blocking(create_mapping, hub, name, template, actor=user.actor)
    except (InvalidRequestError, ConflictError, ConfigFileError) as exc:
        rows = await blocking(_summaries, hub)
        return render(request, "mappings.html", status=exc.http_status, mappings=rows,
                      may_edit=True, error=str(exc), new_name=name)
    return redirect(request, f"/mappings/{quote(created.name)}?created=1")


@admitted(EDIT)
async def restore(request: Request, user: User) -> Response:
    """Restore a kept version as the next save (audited with its diff and the file)."""
    hub = console_of(request).hub
    name = _name(request)
    form = await request.form()
    file = _form_text(form, "file")[:200]
    base = _form_text(form, "base") or None
    try:
        saved = await blocking(restore_mapping, hub, name, file, actor=user.actor, base=base)
    except ConfigFileError as exc:
        text = (hub.mappings.folder / ".versions" / file).read_text(encoding="utf-8")
        return await _editor(request, user, name, text, problems=exc.problems, status=422,
                             base=base)
    except ConflictError as exc:
        text = await blocking(mapping_text, hub, name)
        return await _editor(request, user, name, text, problems=[], status=409,
                             conflict=str(exc))
    return redirect(request, f"/mappings/{quote(name)}?saved={saved.version}"
                             f"&restored={quote(file)}")


def _live_sources(hub: Hub, name: str) -> list[str]:
    """CONNECTION:STREAM of every pull job, the ones reading through mapping `name` first."""
    pulls = [job for job in hub.config.hub.jobs.values() if isinstance(job, PullJob)]
    sources = sorted({f"{job.connection}:{job.stream}" for job in pulls},
                     key=lambda source: (not any(
                         job.mapping == name and f"{job.connection}:{job.stream}" == source
                         for job in pulls), source))
    return sources


@admitted(EDIT)
async def live_sample(request: Request, user: User) -> Response:
    """JSON: the first records of CONNECTION:STREAM read live, as `hub mappings preview
    --from` reads them (the connector's calls audited as the person), masked for the role;
    the editor puts them in its records box."""
    hub = console_of(request).hub
    _name(request)
    form = await request.form()
    source = _form_text(form, "source")[:200]
    try:
        records = await blocking(asyncio.run, read_connection_sample(
            hub, source, limit=SAMPLE_ROWS, actor=user.actor))
    except HubError as exc:
        return JSONResponse({"records": [], "error": str(exc)}, status_code=exc.http_status,
                            headers=SECURITY_HEADERS)
    except ConnectorError as exc:  # the connector's own words (redacted): no such stream …
        return JSONResponse({"records": [], "error": f"{source}: {exc}"}, status_code=502,
                            headers=SECURITY_HEADERS)
    return JSONResponse({"records": masked(user, records, request), "error": None},
                        headers=SECURITY_HEADERS)


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
                         saved=request.query_params.get("saved", ""),
                         restored=request.query_params.get("restored", "")[:200],
                         created=request.query_params.get("created", "") == "1")


async def _editor(request: Request, user: User, name: str, text: str, *,
                  problems: list[ConfigProblem], status: int, saved: str = "",
                  base: str | None = None, conflict: str = "", restored: str = "",
                  created: bool = False) -> Response:
    """The editor on `text`; `base`: the digest of the saved text the edit started from (by
    default the file's now)."""
    hub = console_of(request).hub
    versions = await blocking(mapping_versions, hub, name)
    if base is None:
        base = text_digest(await blocking(mapping_text, hub, name))
    return render(request, "mapping.html", status=status, name=name, text=text, base=base,
                  problems=[_problem(p) for p in problems], versions=versions, saved=saved,
                  conflict=conflict, may_edit=user.may(EDIT), restored=restored,
                  created=created, sources=_live_sources(hub, name))


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
    Route("/mappings", create, methods=["POST"]),
    Route("/mappings/{name}/restore", restore, methods=["POST"]),
    Route("/mappings/{name}/sample.json", live_sample, methods=["POST"]),
    Route("/mappings/{name}", editor, methods=["GET"]),
    Route("/mappings/{name}", save, methods=["POST"]),
    Route("/mappings/{name}/check.json", check, methods=["POST"]),
]
