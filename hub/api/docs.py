"""The interactive API docs, served offline, and the finishing touches on the OpenAPI document.

Support desks often sit behind proxies with no way out to a CDN, so Swagger UI and ReDoc load
their JavaScript and CSS from the hub itself (the assets ship in the `fastapi-offline` wheel;
only its files are used, not its app factory).

The OpenAPI document is built here on first request, once per process for apps of the same
routes, and made the hub's contract by contract.py (operation ids, problem bodies, security,
headers).
"""

from __future__ import annotations

import copy
import threading
import warnings
from collections.abc import Hashable, Iterable
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
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles

from .contract import complete_openapi

__all__ = ["install_docs"]

ASSETS = Path(fastapi_offline.__file__).parent / "static"
STATIC_URL = "/docs/static"
# Examples for the schemas FastAPI generates itself (form bodies), by their final names.
_FORM_EXAMPLES: dict[str, Any] = {
    "ImportUpload": {"file": "tickets.xlsx", "mapping": "tickets_import", "source": "import",
                     "force": False},
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
            key = _document_key(app, open_paths)
            with _BUILT_LOCK:
                built = _BUILT.get(key)
            if built is None:
                built = _build_document(app, open_paths)
                with _BUILT_LOCK:
                    _BUILT[key] = built
            app.openapi_schema = copy.deepcopy(built)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _build_document(app: FastAPI, open_paths: set[str]) -> dict[str, Any]:
    with warnings.catch_warnings():
        # A route serving two methods shares one operationId: contract.py names every
        # operation anew.
        warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes,
                             description=app.description)
    schema = complete_openapi(schema, open_paths=open_paths, examples=_raw_examples(app))
    _add_form_examples(schema)
    return schema


def _document_key(app: FastAPI, open_paths: set[str]) -> Hashable:
    """What the document is built from: the app's texts and the routes it shows, each by its
    path, methods and the very endpoint and models it was declared with (the routers are
    module-level: every app of the process shows the same ones)."""
    shown = []
    for context in iter_route_contexts(app.routes):
        route = context.route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue  # not in the document (the document's own route, mounts, the docs)
        body = route.body_field.field_info.annotation if route.body_field else None
        shown.append((context.path, tuple(sorted(context.methods or ())), context.endpoint,
                      route.response_model, body, route.operation_id, tuple(route.tags),
                      route.status_code, repr(route.responses)))
    return app.title, app.version, app.description, frozenset(open_paths), tuple(shown)


# The documents built in this process by what they were built from: building one takes
# half a second, and every app (each test's, each `hub openapi`) would build the same.
_BUILT: dict[Hashable, dict[str, Any]] = {}
_BUILT_LOCK = threading.Lock()


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


def _add_form_examples(schema: dict[str, Any]) -> None:
    schemas = schema.get("components", {}).get("schemas", {})
    for name, example in _FORM_EXAMPLES.items():
        if name in schemas and not ({"example", "examples"} & schemas[name].keys()):
            schemas[name]["examples"] = [example]
