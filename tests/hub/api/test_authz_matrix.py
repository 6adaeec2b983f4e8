"""The authorization matrix, built from the app itself: every route × every kind of caller.

Unauthenticated callers (none, expired token, wrong-audience token) always get a problem+json
401 from the auth dependency, before any handler runs; role holders get 403 exactly where
ROLE_PERMISSIONS says so, and never 401.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import SecretStr

from connectors.sdk.sandbox import serve
from hub.access.apikeys import create_key
from hub.api import create_app
from hub.api.admission import area_of
from hub.api.principal import ROLE_PERMISSIONS
from hub.api.security import Authenticator, install_authenticator
from hub.runtime import Hub

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # authlib.jose: see hub.api.jwt_bearer
    from authlib.jose import JsonWebToken

SECRET = "matrix-shared-secret-0123456789abcdef0123"
AUDIENCE = "hub-api"
OPEN_PREFIXES = ("/health", "/webhooks")
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def protected_routes(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, concrete path, area) for every API route but the open ones."""
    found: list[tuple[str, str, str]] = []
    # Included routers are resolved lazily (FastAPI ≥ 0.165): walk their effective routes.
    for route in iter_route_contexts(app.routes):
        template = route.path or ""
        if not isinstance(route.original_route, APIRoute) or template.startswith(
                OPEN_PREFIXES):
            continue
        if not route.original_route.include_in_schema and area_of(route) is None:
            continue  # the docs pages: no data behind them
        area = area_of(route)
        assert area is not None, f"{template} admits no area: make its router with admitted_router"
        path = re.sub(r"\{[^}]+\}", "1", template)
        found.extend((method, path, area) for method in sorted(route.methods or ()))
    return found


def token(**overrides: Any) -> str:
    now = int(time.time())
    claims = {"sub": "matrix", "aud": AUDIENCE, "iat": now, "exp": now + 300,
              "roles": ["admin"], **overrides}
    encoded: bytes = JsonWebToken(["HS256"]).encode({"alg": "HS256"}, claims, SECRET.encode())
    return encoded.decode()


@pytest.fixture
def matrix(make_hub: Any, sqlite_url: str, crm_sandbox: Any,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[httpx.Client, FastAPI, Hub]]:
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    hub: Hub = make_hub(sqlite_url)
    app = create_app(hub=hub)
    settings = hub.settings.model_copy(update={"jwt_secret": SecretStr(SECRET),
                                               "jwt_audience": AUDIENCE})
    install_authenticator(app, Authenticator(hub, settings=settings))
    with serve(app, lifespan="on") as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client, app, hub
    hub.close()


UNAUTHENTICATED: dict[str, Callable[[], dict[str, str]]] = {
    "none": lambda: {},
    "expired-jwt": lambda: {"Authorization": f"Bearer {token(exp=int(time.time()) - 3600)}"},
    "wrong-audience-jwt": lambda: {"Authorization": f"Bearer {token(aud='someone-else')}"},
}


@pytest.mark.parametrize("caller", sorted(UNAUTHENTICATED))
def test_unauthenticated__every_route_is_401_before_any_handler(
    matrix: tuple[httpx.Client, FastAPI, Hub], caller: str
) -> None:
    client, app, _hub = matrix
    headers = UNAUTHENTICATED[caller]()
    routes = protected_routes(app)
    assert len(routes) > 10
    wrong = []
    for method, path, _area in routes:
        response = client.request(method, path, headers=headers)
        body = response.json() if response.content else {}
        if (response.status_code != 401
                or not str(body.get("type", "")).endswith("/authentication")
                or "www-authenticate" not in response.headers):
            wrong.append(f"{method} {path}: {response.status_code} {response.text[:120]}")
    assert wrong == []


@pytest.mark.parametrize("role", ["agent", "integrator", "admin"])
def test_roles__403_exactly_where_role_permissions_say(
    matrix: tuple[httpx.Client, FastAPI, Hub], role: str
) -> None:
    client, app, hub = matrix
    key = create_key(hub, name=f"matrix {role}", role=role, actor="test").key
    wrong = []
    for method, path, area in protected_routes(app):
        permission = f"{area}:{'read' if method in READ_METHODS else 'write'}"
        allowed = permission in ROLE_PERMISSIONS[role]
        status = client.request(method, path, headers={"X-API-Key": key}).status_code
        if status == 401 or (status == 403) == allowed:
            wrong.append(f"{role} {method} {path} ({permission}): {status}")
    assert wrong == []


# What the README gives each role, as the routes it names: "agent (tickets, customers, KB
# search), integrator (connections, jobs and runs, webhook events, imports, the outbox),
# admin (everything)". Allowed means past authorization (any answer but 401/403).
README_CONTRACT: dict[str, list[str]] = {
    "agent": ["GET /tickets", "POST /tickets", "GET /tickets/1", "PATCH /tickets/1",
              "POST /tickets/1/resolve", "POST /tickets/1/reopen", "POST /tickets/1/replies",
              "GET /customers",
              "GET /customers/1", "GET /customers/1/history", "GET /kb/search"],
    "integrator": ["GET /connections", "POST /connections/1/check", "GET /jobs",
                   "POST /jobs/1/pause", "POST /jobs/1/resume", "POST /jobs/1/trigger",
                   "POST /jobs/1/reset",
                   "GET /runs", "GET /runs/1", "GET /metrics", "GET /reports/dashboard",
                   "GET /webhook-events",
                   "GET /imports", "GET /imports/1",
                   "GET /imports/1/report.1", "POST /imports", "GET /outbox", "GET /outbox/1",
                   "GET /dead-letters", "POST /dead-letters/1/replay",
                   "POST /dead-letters/replay", "GET /kb/search"],
}


@pytest.mark.parametrize("role", sorted(README_CONTRACT))
def test_roles__hold_exactly_what_the_readme_gives(
    matrix: tuple[httpx.Client, FastAPI, Hub], role: str
) -> None:
    client, app, hub = matrix
    key = create_key(hub, name=f"readme {role}", role=role, actor="test").key
    promised = set(README_CONTRACT[role])
    wrong = []
    for method, path, _area in protected_routes(app):
        status = client.request(method, path, headers={"X-API-Key": key}).status_code
        if (status in (401, 403)) == (f"{method} {path}" in promised):
            wrong.append(f"{role} {method} {path}: {status}")
    assert wrong == []
