"""The one place errors become HTTP responses: problem+json (RFC 9457) with a stable `type`.

Every error answer is `application/problem+json` with `type`, `title`, `status`, `detail`
and `instance` (the request path). `type` is `/problems/<kebab-name>`, a URI relative to the
hub, stable for clients to switch on:

    /problems/not-found                a ticket, run, route... that does not exist (404)
    /problems/method-not-allowed       the route exists, the method does not (405)
    /problems/malformed-body           the body is not valid JSON (400)
    /problems/validation-failed        the request does not match its schema (422)
    /problems/invalid-request          the request makes no sense as given (422)
    /problems/config-file              a YAML file is wrong (422); `errors` name the fields
    /problems/conflict                 the thing is not in a state that allows it (409)
    /problems/idempotency-key-in-use   the key's first request is still running (409)
    /problems/idempotency-key-reused   the key was sent with another request (422)
    /problems/authentication           no credentials, or bad ones (401, WWW-Authenticate)
    /problems/permission-denied        the caller's role may not do this (403)
    /problems/precondition-failed      `If-Match` names another version (412)
    /problems/precondition-required    `If-Match` is missing where it is required (428)
    /problems/request-too-large        the body is over the size limit (413)
    /problems/job-failed               a job ran and failed (502)
    /problems/internal-error           anything unexpected (500; details only in the log)
    /problems/http-<status>            any other HTTP-level refusal (e.g. http-415)

Every 422 carries `errors: [{field, message}]` (the OpenAPI's ValidationProblem), naming each
invalid input where one can be named (`body.refund.amount`, `query.cursor`), else empty.

A `HubError` subclass added later gets `/problems/<its class name in kebab case, without
"Error">`, so each error class has its own type without editing this table. Every `detail`
passes through the hub's redactor: no configured secret reaches a client.
"""

from __future__ import annotations

import logging
import re
import traceback
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import ConfigFileError, HubError, InvalidRequestError, PreconditionFailedError

__all__ = ["PROBLEM_BASE", "CatchAll", "install_error_handlers", "problem_response", "problem_type"]

log = logging.getLogger("hub.api")

PROBLEM_BASE = "/problems/"
MEDIA_TYPE = "application/problem+json"
_HTTP_TYPES = {404: "not-found", 405: "method-not-allowed", 401: "authentication",
               403: "permission-denied", 413: "request-too-large", 422: "validation-failed"}


def _kebab(name: str) -> str:
    stem = name.removesuffix("Error") or name
    return re.sub(r"(?<!^)(?=[A-Z])", "-", stem).lower()


def problem_type(exc: HubError) -> str:
    """The stable `type` of a hub error (see the module docstring)."""
    if isinstance(exc, PreconditionFailedError) and exc.http_status == 428:
        return PROBLEM_BASE + "precondition-required"
    if type(exc) is HubError:
        return PROBLEM_BASE + "internal-error"
    return PROBLEM_BASE + _kebab(type(exc).__name__)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(status: int, kind: str, detail: str, *, instance: str,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A problem+json answer; `kind` is the kebab name after `/problems/`."""
    if status == 422:  # ValidationProblem: `errors` is always there, maybe empty
        extra.setdefault("errors", [])
    content = {"type": PROBLEM_BASE + kind, "title": _title(status), "status": status,
               "detail": detail, "instance": instance, **extra}
    return JSONResponse(content, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _redact(request: Request, text: str) -> str:
    hub = getattr(request.app.state, "hub", None)
    return hub.redactor.text(text) if hub is not None else text


def _hub_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HubError)
    status = exc.http_status
    if type(exc) is HubError:
        _log_failure(request, "hub error", exc)
    extra: dict[str, Any] = {}
    if isinstance(exc, ConfigFileError):
        extra["errors"] = [{"field": p.field, "message": _redact(request, str(p))}
                           for p in exc.problems]
    elif isinstance(exc, InvalidRequestError) and exc.field:
        extra["errors"] = [{"field": exc.field, "message": _redact(request, str(exc))}]
    headers = getattr(exc, "headers", None)
    response = problem_response(status, problem_type(exc)[len(PROBLEM_BASE):],
                                _redact(request, str(exc)), instance=request.url.path,
                                headers=dict(headers) if headers else None, **extra)
    return response


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    malformed = [error for error in exc.errors() if error.get("type") == "json_invalid"]
    if malformed:  # not JSON at all: a 400, as for a form that cannot be parsed
        at = malformed[0].get("loc", ())[-1:]
        where = f" (at character {at[0]})" if at and isinstance(at[0], int) else ""
        return problem_response(400, "malformed-body", f"the body is not valid JSON{where}",
                                instance=request.url.path)
    # Never the offending input: a wrong field may well hold a secret.
    errors = [{"field": ".".join(str(part) for part in error.get("loc", ())),
               "message": _redact(request, str(error.get("msg", "")))}
              for error in exc.errors()]
    fields = ", ".join(error["field"] for error in errors)
    return problem_response(422, "validation-failed", f"invalid request: {fields}",
                            instance=request.url.path, errors=errors)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    kind = _HTTP_TYPES.get(status, f"http-{status}")
    detail = exc.detail if isinstance(exc.detail, str) else _title(status)
    headers = dict(exc.headers) if exc.headers else {}
    if status == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(status, kind, _redact(request, detail),
                            instance=request.url.path, headers=headers or None)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (the router names only the first
    route's, and each method of a path may be a route of its own)."""
    methods: set[str] = set()
    probe = {**request.scope, "method": ""}  # no route serves it: a path match is PARTIAL
    for context in iter_route_contexts(request.app.router.routes):
        match, _ = context.route.matches(probe)
        if match is Match.PARTIAL:
            methods.update(context.methods or ())
    return sorted(methods)


def _log_failure(request: Request, what: str, exc: BaseException) -> None:
    # The traceback is for operators, but goes through the redactor like everything else.
    trace = "".join(traceback.format_exception(exc))
    log.error("%s at %s %s\n%s", what, request.method, request.url.path,
              _redact(request, trace))


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log_failure(request, "unexpected error", exc)
    return problem_response(500, "internal-error", "The hub failed to answer this request; "
                            "the error is in its log.", instance=request.url.path)


class CatchAll:
    """Answers an unexpected exception with the 500 problem and logs it redacted, instead
    of letting it reach the server (which would log the raw traceback, secrets and all)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:
                raise
            await _unexpected(Request(scope), exc)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """The handlers, and `CatchAll` just outside the routes (the first middleware added)."""
    app.add_exception_handler(HubError, _hub_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)  # errors in outer middleware
    app.add_middleware(CatchAll)
