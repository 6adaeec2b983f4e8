"""Refuse, at the edge, text no store column can hold: NUL characters.

PostgreSQL's text and JSON types refuse U+0000, so a NUL anywhere in a path segment, a query
parameter, a JSON body or a form field would reach the store only to fail there (a 500).
`refuse_nul_characters` runs for every protected route once its caller is admitted, and
answers 422 `validation-failed` naming the first field that holds one. It costs two
substring tests on a request without a body; a body is only walked when its bytes hold an
escaped NUL.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

__all__ = ["refuse_nul_characters"]

NUL = "\x00"
_MESSAGE = "must not contain NUL characters"
# No route reads a body on these: whatever one carries reaches no store.
_WITHOUT_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


async def refuse_nul_characters(request: Request) -> None:
    """Raise a 422 naming the first path, query, JSON or form field holding a NUL."""
    location = _in_url(request)
    if location is None and request.method not in _WITHOUT_BODY:
        location = await _in_body(request)
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


async def _in_body(request: Request) -> tuple[str | int, ...] | None:
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        body = await request.body()  # cached: FastAPI read it already
        if b"\\u0000" not in body:
            return None
        try:
            document = await request.json()
        except ValueError:
            return None  # not JSON at all: the body's own validation says so
        found = _find_nul(document, ("body",))
        return found
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()  # cached as well
        for name, value in form.multi_items():
            # Only the fields the route reads: the others never reach the store.
            if name in _form_fields(request) and isinstance(value, str) and NUL in value:
                return ("body", name)
    return None


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
