"""Refuse, at the edge, text no store column can hold: NUL characters.

PostgreSQL's text and JSON types refuse U+0000, so a NUL anywhere in a path segment, a query
parameter, a JSON body or a form field would reach the store only to fail there (a 500).
`refuse_nul_characters` runs for every protected route once its caller is admitted (the path,
the query and a JSON body), `refuse_nul_in_form` as a dependency of every route that reads a
form (FastAPI parses the form, within its limits, before it runs): both answer 422
`validation-failed` naming the first field that holds one. It costs two substring tests on a
request without a body; a body is only walked when its bytes hold an escaped NUL.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

__all__ = ["refuse_nul_characters", "refuse_nul_in_form"]

NUL = "\x00"
_MESSAGE = "must not contain NUL characters"
# No route reads a body on these: whatever one carries reaches no store.
_WITHOUT_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


async def refuse_nul_characters(request: Request) -> None:
    """Raise a 422 naming the first path, query or JSON body field holding a NUL."""
    location = _in_url(request)
    if location is None and request.method not in _WITHOUT_BODY:
        location = await _in_json(request)
    _refuse(location)


async def refuse_nul_in_form(request: Request) -> None:
    """Raise a 422 naming the first form field the route reads that holds a NUL (a
    dependency: the form is FastAPI's, parsed already)."""
    form = await request.form()  # cached
    fields = _form_fields(request)
    _refuse(next((("body", name) for name, value in form.multi_items()
                  if name in fields and isinstance(value, str) and NUL in value), None))


def _refuse(location: tuple[str | int, ...] | None) -> None:
    if location is not None:
        raise RequestValidationError([{"loc": location, "msg": _MESSAGE,
                                       "type": "nul_character"}])


def _in_url(request: Request) -> tuple[str | int, ...] | None:
    if NUL in request.scope["path"]:
        return ("path",)
    if b"%00" not in request.scope.get("query_string", b""):
        return None
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            return ("query", name.replace(NUL, ""))
    return None


async def _in_json(request: Request) -> tuple[str | int, ...] | None:
    if "json" not in request.headers.get("content-type", ""):
        return None
    body = await request.body()  # kept: FastAPI reads it from the request again
    if b"\\u0000" not in body:
        return None
    try:
        document = await request.json()
    except ValueError:
        return None  # not JSON at all: the body's own validation says so
    return _find_nul(document, ("body",))


def _form_fields(request: Request) -> set[str]:
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    return {field.alias for field in getattr(dependant, "body_params", ())}


def _find_nul(value: Any, location: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    if isinstance(value, str):
        return location if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = (*location, str(key).replace(NUL, ""))
            found = here if NUL in str(key) else _find_nul(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_nul(item, (*location, index))
            if found is not None:
                return found
    return None
