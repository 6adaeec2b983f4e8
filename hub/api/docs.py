"""The interactive API docs, served offline, and the finishing touches on the OpenAPI document.

Support desks often sit behind proxies with no way out to a CDN, so Swagger UI and ReDoc load
their JavaScript and CSS from the hub itself (the assets ship in the `fastapi-offline` wheel;
only its files are used, not its app factory).

The OpenAPI document is completed here, once, rather than on every route: the security
schemes (`Authorization: Bearer` and `X-API-Key`) applied to every route outside the open
routers, and the problem+json errors (401/403/404/422) every secured route can answer with.
"""

from __future__ import annotations

import copy
import warnings
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from .middleware import KEY_PATTERN

__all__ = ["PROBLEM_SCHEMA", "SECURITY_SCHEMES", "install_docs"]

ASSETS = Path(fastapi_offline.__file__).parent / "static"
STATIC_URL = "/docs/static"
PROBLEM_MEDIA = "application/problem+json"

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": "An OAuth2 access token (JWT) from the configured issuer."},
    "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                   "description": "An API key from `hub apikeys create`."},
}
# Either scheme is enough: a list of alternatives, one scheme each.
SECURITY: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error as RFC 9457 problem details; `type` is stable, match on it.",
    "properties": {
        "type": {"type": "string", "description": "Stable error kind."},
        "title": {"type": "string", "description": "One line for humans."},
        "status": {"type": "integer", "description": "The HTTP status."},
        "detail": {"type": "string", "description": "What went wrong, in full."},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status"],
    "additionalProperties": True,
    "examples": [{"type": "/problems/not-found", "title": "Not Found", "status": 404,
                  "detail": "no ticket 42", "instance": "/tickets/42"}],
}

IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Repeat the request safely: a repeat with the same key and body replays "
                   "the first answer (`Idempotent-Replayed: true`); the same key with another "
                   "request is a 422, while the first still runs a 409.",
    "schema": {"type": "string", "pattern": KEY_PATTERN, "examples": ["7f9c2ba4-e88f-11ee"]}}

_ERRORS: dict[str, str] = {
    "401": "No credentials, or invalid ones (see `WWW-Authenticate`).",
    "403": "The caller's role may not do this.",
    "404": "Nothing with this id.",
    "422": "The request is invalid; the problem names the field.",
    "400": "The body cannot be read as the declared media type (malformed JSON or form).",
    "413": "The body is larger than the hub accepts.",
    "409": "The thing is not in a state that allows this, or a request with the same "
           "`Idempotency-Key` is still running.",
    "412": "`If-Match` names another version of the resource (someone changed it).",
    "428": "This change needs `If-Match` with the resource's current ETag.",
}

# Examples for the schemas FastAPI generates itself (validation errors, form bodies).
_BUILTIN_EXAMPLES: dict[str, Any] = {
    "ValidationError": {"loc": ["query", "limit"], "msg": "Input should be a valid integer",
                        "type": "int_parsing"},
    "HTTPValidationError": {"detail": [{"loc": ["query", "limit"],
                                        "msg": "Input should be a valid integer",
                                        "type": "int_parsing"}]},
}
_FORM_EXAMPLES: dict[str, Any] = {
    "Body_create_imports_post": {"file": "tickets.xlsx", "mapping": "tickets_import",
                                 "source": "import", "force": False},
}


def install_docs(app: FastAPI, *, open_routers: Iterable[APIRouter]) -> None:
    """Serve /docs and /redoc from local assets and complete the OpenAPI document, where the
    routes of `open_routers` are the ones that need no credentials."""
    open_paths = _open_paths(open_routers)
    app.mount(STATIC_URL, StaticFiles(directory=ASSETS), name="docs-static")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}", title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect_url}",
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True})

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png", with_google_fonts=False)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            with warnings.catch_warnings():
                # A route serving two methods shares one operationId; made unique below.
                warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
                schema = get_openapi(title=app.title, version=app.version,
                                     routes=app.routes, description=app.description)
            app.openapi_schema = complete_openapi(schema, open_paths=open_paths,
                                                  examples=_raw_examples(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _open_paths(open_routers: Iterable[APIRouter]) -> set[str]:
    return {route.path for router in open_routers for route in router.routes
            if isinstance(route, APIRoute)}


def _raw_examples(app: FastAPI) -> dict[str, list[Any]]:
    """Each model's schema examples as written, nulls included.

    FastAPI drops every None from the document (`exclude_none`), examples included, which
    turns `"error": null` into a missing required field. Its own helpers give the schemas
    before that; they are internal, so on another FastAPI version this gives up quietly.
    """
    try:
        from fastapi._compat import (
            get_definitions,
            get_flat_models_from_fields,
            get_model_name_map,
        )
        from fastapi.openapi.utils import get_fields_from_routes

        fields = get_fields_from_routes(list(app.routes))
        names = get_model_name_map(get_flat_models_from_fields(fields, known_models=set()))
        _, definitions = get_definitions(fields=fields, model_name_map=names,
                                         separate_input_output_schemas=True)
    except (ImportError, TypeError, ValueError):  # pragma: no cover -- other FastAPI
        return {}
    return {name: definition["examples"] for name, definition in definitions.items()
            if isinstance(definition.get("examples"), list)}


def complete_openapi(schema: dict[str, Any], *, open_paths: set[str],
                     examples: dict[str, list[Any]] | None = None) -> dict[str, Any]:
    """Add security, the Problem schema and its error responses, and builtin examples."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, raw in (examples or {}).items():
        if name in schemas:
            schemas[name]["examples"] = raw
    schemas["Problem"] = copy.deepcopy(PROBLEM_SCHEMA)
    schemes = components.setdefault("securitySchemes", {})
    for name, scheme in SECURITY_SCHEMES.items():
        schemes.setdefault(name, scheme)
    for name, example in {**_BUILTIN_EXAMPLES, **_FORM_EXAMPLES}.items():
        if name in schemas and not ({"example", "examples"} & schemas[name].keys()):
            schemas[name]["examples"] = [example]
    _unique_operation_ids(schema)
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            secured = path not in open_paths
            if secured:
                operation.setdefault("security", SECURITY)
            codes = ["422"]
            if secured:
                codes[:0] = ["401", "403"]
            if "{" in path:
                codes.append("404")
            if "requestBody" in operation:
                codes += ["400", "413"]
            if secured and method == "post":
                codes.append("409")  # state conflicts; Idempotency-Key still in use
                _declare_idempotency_key(operation)
            if method == "patch":
                codes += ["409", "412", "428"]
            if method == "get" and "{" in path:
                responses.setdefault("304", {"description": "Not modified: the resource "
                                             "still has the ETag sent in If-None-Match."})
            for code in codes:
                entry = responses.setdefault(code, {"description": _ERRORS[code]})
                entry.setdefault("content", {})[PROBLEM_MEDIA] = {"schema": problem}
    return schema


def _declare_idempotency_key(operation: dict[str, Any]) -> None:
    """Every protected POST honours `Idempotency-Key` (middleware.py): say so, once."""
    parameters = operation.setdefault("parameters", [])
    parameters[:] = [p for p in parameters if str(p.get("name", "")).lower() != "idempotency-key"]
    parameters.append(IDEMPOTENCY_KEY)


def _unique_operation_ids(schema: dict[str, Any]) -> None:
    # Generators name client methods after operationIds: a duplicate breaks them.
    operations = [(method, op) for ops in schema.get("paths", {}).values()
                  for method, op in ops.items() if isinstance(op, dict) and "operationId" in op]
    counts = Counter(op["operationId"] for _, op in operations)
    for method, op in operations:
        if counts[op["operationId"]] > 1 and not op["operationId"].endswith(f"_{method}"):
            op["operationId"] = f"{op['operationId'].rsplit('_', 1)[0]}_{method}"
