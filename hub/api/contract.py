"""The OpenAPI document as a contract that client generators can trust.

FastAPI's document is completed here, once, rather than on every route:

- every operation has a stable, readable id (`tickets.list`, `dead-letters.replay`) and the
  one tag of its resource; a route without an entry in OPERATIONS fails the contract test;
- problem+json is the only error body: `Problem` for every error, `ValidationProblem` (with
  `errors[]`) for 422, declared on each operation that can send it; FastAPI's own
  `HTTPValidationError`, which the hub never sends, is gone from the document;
- the security schemes say truthfully what each header takes, and apply to every route
  outside the open ones;
- the response headers clients need are declared: `ETag` wherever a ticket is answered,
  `Location` on creation, `Idempotent-Replayed` on replays, `WWW-Authenticate` on 401.

How the contract changes: docs/api.md, "How the contract changes"; `info.version` is the
contract's (CONTRACT_VERSION).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .middleware import KEY_PATTERN

__all__ = ["CONTRACT_VERSION", "OPERATIONS", "SECURITY_SCHEMES", "complete_openapi"]

CONTRACT_VERSION = "1.5.0"
PROBLEM_MEDIA = "application/problem+json"

# (method, path) -> operation id; the part before the dot is the operation's tag.
OPERATIONS: dict[tuple[str, str], str] = {
    ("get", "/tickets"): "tickets.list",
    ("post", "/tickets"): "tickets.create",
    ("get", "/tickets/{ticket_id}"): "tickets.get",
    ("patch", "/tickets/{ticket_id}"): "tickets.update",
    ("post", "/tickets/{ticket_id}/resolve"): "tickets.resolve",
    ("post", "/tickets/{ticket_id}/reopen"): "tickets.reopen",
    ("post", "/tickets/{ticket_id}/replies"): "tickets.reply",
    ("get", "/customers"): "customers.list",
    ("get", "/customers/{customer_id}"): "customers.get",
    ("get", "/customers/{customer_id}/history"): "customers.history",
    ("get", "/kb/search"): "kb.search",
    ("get", "/imports"): "imports.list",
    ("post", "/imports"): "imports.create",
    ("get", "/imports/{import_id}"): "imports.get",
    ("get", "/imports/{import_id}/report.{kind}"): "imports.report",
    ("get", "/jobs"): "jobs.list",
    ("post", "/jobs/{name}/pause"): "jobs.pause",
    ("post", "/jobs/{name}/resume"): "jobs.resume",
    ("post", "/jobs/{name}/trigger"): "jobs.trigger",
    ("post", "/jobs/{name}/reset"): "jobs.reset",
    ("get", "/runs"): "runs.list",
    ("get", "/runs/{run_id}"): "runs.get",
    ("get", "/metrics"): "metrics.get",
    ("get", "/reports/dashboard"): "reports.dashboard",
    ("get", "/outbox"): "outbox.list",
    ("get", "/outbox/{row_id}"): "outbox.get",
    ("get", "/dead-letters"): "dead-letters.list",
    ("post", "/dead-letters/{row_id}/replay"): "dead-letters.replay",
    ("post", "/dead-letters/replay"): "dead-letters.replay-many",
    ("get", "/audit"): "audit.list",
    ("get", "/connections"): "connections.list",
    ("post", "/connections/{name}/check"): "connections.check",
    ("get", "/webhook-events"): "webhook-events.list",
    ("get", "/health"): "health.get",
    ("post", "/webhooks/{connection}"): "webhooks.receive",
    ("get", "/webhooks/{connection}"): "webhooks.verify",
}

# Each answers one ticket, versioned (see hub/api/routes/tickets.py).
VERSIONED = frozenset({"tickets.get", "tickets.create", "tickets.update", "tickets.resolve",
                       "tickets.reopen"})
CREATING = frozenset({"tickets.create", "imports.create"})

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearerAuth": {
        "type": "http", "scheme": "bearer",
        "description": "`Authorization: Bearer <credential>`, where the credential is either an "
                       "OAuth2 access token (a JWT from the configured issuer) or an API key "
                       "from `hub apikeys create`; the hub tells them apart by their form."},
    "apiKeyAuth": {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": "An API key from `hub apikeys create` (the same keys `bearerAuth` "
                       "takes). Send one credential: both headers at once is a 401."},
}
# Either scheme is enough: a list of alternatives, one scheme each.
SECURITY: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]

_PROBLEM_PROPERTIES: dict[str, Any] = {
    "type": {"type": "string", "description": "Stable error kind (`/problems/not-found`); "
                                              "match on it."},
    "title": {"type": "string", "description": "One line for humans."},
    "status": {"type": "integer", "description": "The HTTP status."},
    "detail": {"type": "string", "description": "What went wrong, in full."},
    "instance": {"type": "string", "description": "The request's path."},
}
FIELD_ERROR: dict[str, Any] = {
    "title": "FieldError", "type": "object",
    "description": "One invalid input: where it is and what is wrong with it.",
    "properties": {
        "field": {"type": "string", "description": "Where: `body.refund.amount`, "
                                                   "`query.cursor`, `header.If-Match`; empty "
                                                   "when the request as a whole is wrong."},
        "message": {"type": "string"}},
    "required": ["field", "message"],
    "examples": [{"field": "body.subject", "message": "Field required"}],
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem", "type": "object",
    "description": "An error as RFC 9457 problem details; `type` is stable, match on it.",
    "properties": _PROBLEM_PROPERTIES,
    "required": ["type", "title", "status", "detail", "instance"],
    "examples": [{"type": "/problems/not-found", "title": "Not Found", "status": 404,
                  "detail": "no ticket 42", "instance": "/tickets/42"}],
}
VALIDATION_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "ValidationProblem", "type": "object",
    "description": "A 422: the request is invalid. `errors` names each invalid input (it may be "
                   "empty when the request as a whole makes no sense, e.g. a replayed "
                   "`Idempotency-Key` with another body).",
    "properties": {**_PROBLEM_PROPERTIES, "errors": {
        "type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}},
    "required": ["type", "title", "status", "detail", "instance", "errors"],
    "examples": [{"type": "/problems/validation-failed", "title": "Unprocessable Content",
                  "status": 422, "detail": "invalid request: body.subject",
                  "instance": "/tickets",
                  "errors": [{"field": "body.subject", "message": "Field required"}]}],
}

_ERRORS: dict[str, str] = {
    "400": "The body cannot be read as the declared media type (malformed JSON or form).",
    "401": "No credentials, or invalid ones (see `WWW-Authenticate`).",
    "403": "The caller's role may not do this.",
    "404": "Nothing with this id.",
    "409": "The thing is not in a state that allows this, or a request with the same "
           "`Idempotency-Key` is still running.",
    "412": "`If-Match` names another version of the resource (someone changed it).",
    "413": "The body is larger than the hub accepts.",
    "422": "The request is invalid; `errors` names each invalid input.",
    "428": "This change needs `If-Match` with the resource's current ETag.",
    "507": "The hub has no room to store this now.",
}

IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Repeat the request safely: a repeat with the same key and body replays "
                   "the first answer (`Idempotent-Replayed: true`); the same key with another "
                   "request is a 422, while the first still runs a 409.",
    "schema": {"type": "string", "pattern": KEY_PATTERN, "examples": ["7f9c2ba4-e88f-11ee"]}}

_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"description": "The ticket's version: send it back in `If-Match` to change it, "
                            "or in `If-None-Match` to be told it did not change (304).",
             "schema": {"type": "string", "examples": ['"3f2a9c1b"']}},
    "Location": {"description": "Where the created resource is read.",
                 "schema": {"type": "string", "examples": ["/tickets/42"]}},
    "Idempotent-Replayed": {"description": "`true` when this is the stored answer to an "
                                           "earlier request with the same `Idempotency-Key`.",
                            "schema": {"type": "string", "enum": ["true"]}},
    "WWW-Authenticate": {"description": "The scheme to authenticate with.",
                         "schema": {"type": "string", "examples": ['Bearer realm="hub"']}},
}


def complete_openapi(schema: dict[str, Any], *, open_paths: set[str],
                     examples: dict[str, list[Any]] | None = None) -> dict[str, Any]:
    """Make FastAPI's `schema` the hub's contract (see the module docstring)."""
    schema.setdefault("info", {})["version"] = CONTRACT_VERSION
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, raw in (examples or {}).items():
        if name in schemas:
            schemas[name]["examples"] = raw
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    _rename_schemas(schema, schemas)
    _mark_binary_uploads(schemas)
    for definition in (PROBLEM_SCHEMA, VALIDATION_PROBLEM_SCHEMA, FIELD_ERROR):
        schemas[definition["title"]] = copy.deepcopy(definition)
    schemes = components.setdefault("securitySchemes", {})
    schemes.update(copy.deepcopy(SECURITY_SCHEMES))
    tags: list[str] = []
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "responses" in operation:
                _complete_operation(path, method, operation, secured=path not in open_paths)
                tags += [tag for tag in operation["tags"] if tag not in tags]
    schema["tags"] = [{"name": tag} for tag in tags]
    return schema


def _complete_operation(path: str, method: str, operation: dict[str, Any], *,
                        secured: bool) -> None:
    operation_id = OPERATIONS.get((method, path))
    if operation_id is None:  # the contract test names it; the document stays servable
        operation_id = f"unnamed.{method}{path.replace('/', '.')}"
    operation["operationId"] = operation_id
    operation["tags"] = [operation_id.split(".", 1)[0]]
    if secured:
        operation["security"] = SECURITY
    if secured and method == "post":
        _declare_idempotency_key(operation)
    _declare_headers(operation_id, method, operation["responses"], secured=secured)
    declared = [code for code in operation["responses"] if code[0] in "45"]
    for code in dict.fromkeys(_error_codes(path, method, operation, secured=secured) + declared):
        _declare_problem(operation["responses"], code)
    operation["responses"]["default"] = {
        "description": "Any other error (e.g. 500), as problem details.",
        "content": {PROBLEM_MEDIA: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _error_codes(path: str, method: str, operation: dict[str, Any], *,
                 secured: bool) -> list[str]:
    codes = ["422"]
    if secured:
        codes[:0] = ["401", "403"]
    if "{" in path:
        codes.append("404")
    if "requestBody" in operation:
        codes += ["400", "413"]
    if secured and method == "post":
        codes.append("409")  # state conflicts; Idempotency-Key still in use
    if method == "patch":
        codes += ["409", "412", "428"]
    return codes


def _declare_problem(responses: dict[str, Any], code: str) -> None:
    """The problem as the only body of `code` (FastAPI's 422 `HTTPValidationError` goes)."""
    name = "ValidationProblem" if code == "422" else "Problem"
    entry = responses.get(code) or {}
    responses[code] = {
        "description": entry.get("description") or _ERRORS.get(code, "An error."),
        "content": {PROBLEM_MEDIA: {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
    if code == "401":
        responses[code]["headers"] = {"WWW-Authenticate": _HEADERS["WWW-Authenticate"]}


def _declare_headers(operation_id: str, method: str, responses: dict[str, Any], *,
                     secured: bool) -> None:
    names: list[str] = []
    if operation_id in VERSIONED:
        names.append("ETag")
    if operation_id in CREATING:
        names.append("Location")
    if secured and method == "post":
        names.append("Idempotent-Replayed")
    for code, response in responses.items():
        if code.startswith("2") and names:
            headers = response.setdefault("headers", {})
            for name in names:
                headers[name] = _HEADERS[name]
    if operation_id == "tickets.get":
        responses["304"] = {"description": "Not modified: the ticket still has the ETag sent "
                                           "in `If-None-Match`.",
                            "headers": {"ETag": _HEADERS["ETag"]}}


def _declare_idempotency_key(operation: dict[str, Any]) -> None:
    """Every protected POST honours `Idempotency-Key` (middleware.py): say so, once."""
    parameters = operation.setdefault("parameters", [])
    parameters[:] = [p for p in parameters if str(p.get("name", "")).lower() != "idempotency-key"]
    parameters.append(IDEMPOTENCY_KEY)


_PAGE = re.compile(r"Page_(\w+?)_")
_FORMS = {"Body_create_imports_post": "ImportUpload"}


def _rename_schemas(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Readable names for the schemas FastAPI names after Python: `Page_RunPublic_` becomes
    `RunPage`, `Refund-Input`/`-Output` `Refund`/`RefundOutput`, a form body its resource's
    upload. Generated clients name their classes after these (and after `title`)."""
    renames: dict[str, str] = {}
    for name in list(schemas):
        new = _readable_name(name)
        if new and new not in schemas:
            schemas[new] = schemas.pop(name)
            schemas[new]["title"] = new
            renames[f"#/components/schemas/{name}"] = f"#/components/schemas/{new}"
    if renames:
        _rewrite_refs(document, renames)


def _mark_binary_uploads(schemas: dict[str, Any]) -> None:
    """An uploaded file, which OpenAPI 3.1 writes as `contentMediaType`, also gets 3.0's
    `format: binary`: generators (openapi-python-client among them) only know that form, and
    would otherwise make the file a plain string."""
    for definition in schemas.values():
        for prop in definition.get("properties", {}).values():
            if prop.get("type") == "string" and "contentMediaType" in prop:
                prop.setdefault("format", "binary")


def _readable_name(name: str) -> str | None:
    if page := _PAGE.fullmatch(name):
        return f"{page.group(1).removesuffix('Public')}Page"
    # A model both taken and given (a refund in a resolution) has two schemas when a field
    # has a default: what a client sends, and what it reads back (every field present).
    if name.endswith("-Input"):
        return name.removesuffix("-Input")
    if name.endswith("-Output"):
        return name.removesuffix("-Output") + "Output"
    return _FORMS.get(name)


def _rewrite_refs(node: Any, renames: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in renames:
            node["$ref"] = renames[ref]
        for value in node.values():
            _rewrite_refs(value, renames)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renames)
