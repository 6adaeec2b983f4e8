"""The OpenAPI document is complete (examples, security, errors) and the docs work offline."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hub.runtime import Hub

# Schemas built in hub/api/docs.py, the health/kb/imports/outbox routers and the outbox views.
DOCS_OWNED = frozenset({
    "Problem", "HTTPValidationError", "ValidationError", "Health", "ArticleHitPublic",
    "ImportPublic", "Body_create_imports_post", "ReplayRequest", "ReplayResult", "OutboxView",
})
OPEN_PATHS = frozenset({"/health", "/webhooks/{connection}"})
CDN = re.compile(r"https?://(?!127\.0\.0\.1|localhost)[^\s\"'<>]+")


def _openapi(api_client: Any, hub: Hub) -> dict[str, Any]:
    with api_client(hub) as api:
        response = api.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in document["paths"].items()
            for method, op in ops.items() if isinstance(op, dict) and "responses" in op]


def test_every_schema_has_an_example(api_client: Any, hub: Hub) -> None:
    schemas = _openapi(api_client, hub)["components"]["schemas"]
    missing = sorted(name for name, schema in schemas.items()
                     if not ({"example", "examples"} & schema.keys()))
    assert missing == []


def test_every_example_is_valid_against_its_schema(api_client: Any, hub: Hub) -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    document = _openapi(api_client, hub)
    schemas = document["components"]["schemas"]
    for name in DOCS_OWNED & schemas.keys():
        if name == "Body_create_imports_post":
            continue  # a multipart form: its `file` is binary, not JSON
        schema = {**schemas[name], "components": document["components"]}
        validator = jsonschema_rs.Draft202012Validator(schema)
        for example in schemas[name].get("examples", []):
            errors = [e.message for e in validator.iter_errors(example)]
            assert not errors, (name, example, errors)


def test_security_schemes_are_declared(api_client: Any, hub: Hub) -> None:
    schemes = _openapi(api_client, hub)["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["bearerAuth"].items()
    assert {"type": "apiKey", "in": "header", "name": "X-API-Key"}.items() \
        <= schemes["apiKeyAuth"].items()


def test_every_non_open_operation_declares_security_and_problems(
        api_client: Any, hub: Hub) -> None:
    document = _openapi(api_client, hub)
    unsecured, without_problems = [], []
    for path, method, op in _operations(document):
        if path in OPEN_PATHS:
            assert "security" not in op, (method, path)
            continue
        if not op.get("security"):
            unsecured.append(f"{method.upper()} {path}")
        for code in ("401", "403", "422"):
            content = op["responses"].get(code, {}).get("content", {})
            if "application/problem+json" not in content:
                without_problems.append(f"{method.upper()} {path} {code}")
    assert not unsecured
    assert not without_problems
    assert document["components"]["schemas"]["Problem"]["required"] == [
        "type", "title", "status"]


def test_operation_ids_are_unique(api_client: Any, hub: Hub) -> None:
    ids = [op["operationId"] for _, _, op in _operations(_openapi(api_client, hub))]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("page", "assets"), [
    ("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")),
    ("/redoc", ("redoc.standalone.js",)),
])
def test_docs_are_served_offline(api_client: Any, hub: Hub, page: str,
                                 assets: tuple[str, ...]) -> None:
    with api_client(hub) as api:
        html = api.get(page)
        assert html.status_code == 200
        assert "text/html" in html.headers["content-type"]
        assert not CDN.findall(html.text), CDN.findall(html.text)
        assert "/openapi.json" in html.text
        for asset in assets:
            url = f"/docs/static/{asset}"
            assert url in html.text
            served = api.get(url)
            assert served.status_code == 200
            assert len(served.content) > 10_000
