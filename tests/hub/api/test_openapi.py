"""The OpenAPI document is complete (examples, security, errors) and the docs work offline."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hub.runtime import Hub

# Schemas built in hub/api/docs.py, the health/kb/imports/outbox routers and the outbox views.
DOCS_OWNED = frozenset({
    "Problem", "ValidationProblem", "FieldError", "Health", "ArticleMatch",
    "ImportPublic", "ImportUpload", "ReplayRequest", "ReplayResult", "OutboxView",
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
        if name == "ImportUpload":
            continue  # a multipart form: its `file` is binary, not JSON
        schema = {**schemas[name], "components": document["components"]}
        validator = jsonschema_rs.Draft202012Validator(schema)
        for example in schemas[name].get("examples", []):
            errors = [e.message for e in validator.iter_errors(example)]
            assert not errors, (name, example, errors)


def test_security_schemes_are_declared_truthfully(api_client: Any, hub: Hub) -> None:
    schemes = _openapi(api_client, hub)["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["bearerAuth"].items()
    # Bearer takes an API key as well as a JWT: no format that says JWT only.
    assert "bearerFormat" not in schemes["bearerAuth"]
    assert "API key" in schemes["bearerAuth"]["description"]
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
        for code in ("401", "403", "422", "default"):
            content = op["responses"].get(code, {}).get("content", {})
            if "application/problem+json" not in content:
                without_problems.append(f"{method.upper()} {path} {code}")
    assert not unsecured
    assert not without_problems


def test_problem_details_are_the_only_error_body(api_client: Any, hub: Hub) -> None:
    document = _openapi(api_client, hub)
    schemas = document["components"]["schemas"]
    assert not {"HTTPValidationError", "ValidationError"} & schemas.keys()
    assert schemas["ValidationProblem"]["required"] == [
        "type", "title", "status", "detail", "instance", "errors"]
    wrong = []
    for path, method, op in _operations(document):
        for code, response in op["responses"].items():
            if code[0] in "23":
                continue
            content = response.get("content", {})
            expected = "ValidationProblem" if code == "422" else "Problem"
            if list(content) != ["application/problem+json"] or content[
                    "application/problem+json"]["schema"] != {
                        "$ref": f"#/components/schemas/{expected}"}:
                wrong.append(f"{method.upper()} {path} {code}: {content}")
    assert wrong == []


def test_operations_have_stable_readable_ids_and_resource_tags(api_client: Any,
                                                               hub: Hub) -> None:
    from hub.api.contract import OPERATIONS

    document = _openapi(api_client, hub)
    served = {(method, path): op for path, method, op in _operations(document)}
    assert sorted(served) == sorted(OPERATIONS), "name each new route in OPERATIONS"
    for (method, path), op in served.items():
        resource = path.split("/")[1]
        assert op["operationId"] == OPERATIONS[(method, path)]
        assert re.fullmatch(r"[a-z-]+\.[a-z-]+", op["operationId"]), op["operationId"]
        assert op["tags"] == [resource], (method, path, op["tags"])
    ids = [op["operationId"] for op in served.values()]
    assert len(ids) == len(set(ids))
    assert {tag["name"] for tag in document["tags"]} == {path.split("/")[1]
                                                        for _, path in served}


def test_etag_is_declared_wherever_a_ticket_is_answered(api_client: Any, hub: Hub) -> None:
    document = _openapi(api_client, hub)
    for path, method, op in _operations(document):
        for code, response in op["responses"].items():
            body = response.get("content", {}).get("application/json", {}).get("schema", {})
            if body == {"$ref": "#/components/schemas/TicketPublic"} or code == "304":
                assert "ETag" in response.get("headers", {}), (method, path, code)
    created = document["paths"]["/tickets"]["post"]["responses"]["201"]["headers"]
    assert {"ETag", "Location", "Idempotent-Replayed"} <= created.keys()


@pytest.mark.parametrize(("method", "url", "body", "field"), [
    ("post", "/tickets", {"description": "no subject"}, "body.subject"),
    ("get", "/tickets?cursor=not-a-cursor", None, "query.cursor"),
    ("get", "/tickets?limit=0", None, "query.limit"),
    ("get", "/tickets?priority=whenever", None, "query.priority"),
    ("get", "/tickets?channel=pigeon", None, "query.channel"),
    ("get", "/customers?cursor=dDE6NDI", None, "query.cursor"),
])
def test_every_422_is_a_validation_problem_naming_the_field(
        api_client: Any, hub: Hub, method: str, url: str, body: Any, field: str) -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    with api_client(hub) as api:
        document = api.get("/openapi.json").json()
        response = api.request(method, url, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    schema = {**document["components"]["schemas"]["ValidationProblem"],
              "components": document["components"]}
    problem = response.json()
    assert list(jsonschema_rs.Draft202012Validator(schema).iter_errors(problem)) == []
    assert field in [error["field"] for error in problem["errors"]]


def test_a_422_without_a_field_still_carries_errors(api_client: Any, hub: Hub) -> None:
    with api_client(hub) as api:
        first = api.post("/tickets", json={"subject": "a"}, headers={"Idempotency-Key": "k1"})
        again = api.post("/tickets", json={"subject": "b"}, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201
    assert again.status_code == 422
    assert again.json()["errors"] == []


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
