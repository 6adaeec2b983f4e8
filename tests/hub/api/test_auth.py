"""API authentication: hub API keys and OAuth2 bearer JWTs (shared key and JWKS), denials
audited, and no key or token ever shown back."""

from __future__ import annotations

import base64
import json
import logging
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.sdk.sandbox import serve
from hub.access.apikeys import (
    ApiKeyVerifier,
    create_key,
    list_keys,
    parse_expiry,
    revoke_key,
)
from hub.api import create_app
from hub.api.jwt_bearer import JwtVerifier
from hub.api.security import Authenticator, install_authenticator
from hub.core.settings import Settings
from hub.errors import AuthenticationError, InvalidRequestError, PermissionDeniedError
from hub.runtime import Hub
from hub.store.models import AuditRecord

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # authlib.jose: see hub.api.jwt_bearer
    from authlib.jose import JsonWebKey, JsonWebToken

SECRET = "jwt-shared-secret-for-tests-0123456789abcdef"
ISSUER = "https://id.example.com/"
AUDIENCE = "hub-api"
OK_ROUTE = "/tickets/4242"  # an agent may read tickets; no such ticket: 404 once past auth


@pytest.fixture
def sqlite_hub(make_hub: Any, sqlite_url: str, crm_sandbox: Any,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    hub: Hub = make_hub(sqlite_url)
    yield hub
    hub.close()


def jwt_settings(hub: Hub, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"jwt_secret": SecretStr(SECRET), "jwt_issuer": ISSUER,
                              "jwt_audience": AUDIENCE, "jwt_leeway_seconds": 30}
    return hub.settings.model_copy(update={**values, **overrides})


@contextmanager
def served(hub: Hub, *, settings: Settings | None = None, key_cache_seconds: float = 30.0
           ) -> Iterator[httpx.Client]:
    app = create_app(hub=hub)
    install_authenticator(app, Authenticator(hub, settings=settings,
                                             key_cache_seconds=key_cache_seconds,
                                             jwks_refetch_seconds=0))
    with serve(app, lifespan="on") as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300,
            "roles": ["agent"], **overrides}


def hs256(payload: dict[str, Any], key: str = SECRET) -> str:
    token: bytes = JsonWebToken(["HS256"]).encode({"alg": "HS256", "typ": "JWT"}, payload,
                                                 key.encode())
    return token.decode()


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def denials(hub: Hub) -> list[AuditRecord]:
    import sqlalchemy as sa

    with hub.sessions() as session:
        return list(session.scalars(sa.select(AuditRecord)
                                    .where(AuditRecord.action == "api.denied")
                                    .order_by(AuditRecord.seq)))


# --- API keys -------------------------------------------------------------------------------


def test_key__format_hash_and_both_headers(hub: Hub) -> None:
    created = create_key(hub, name="desk", role="agent", scopes=("pii",), actor="test")
    prefix, secret = created.key.removeprefix("hub_").split("_", 1)
    assert prefix == created.info.prefix and len(prefix) == 8 and len(secret) >= 43
    [listed] = list_keys(hub)
    assert listed.scopes == ("pii",) and listed.last_used_at is None
    with served(hub) as api:
        by_bearer = api.get(OK_ROUTE, headers=bearer(created.key))
        by_header = api.get(OK_ROUTE, headers={"X-API-Key": created.key})
    assert by_bearer.status_code == by_header.status_code == 404
    [used] = list_keys(hub)
    assert used.last_used_at is not None
    assert denials(hub) == []


@pytest.mark.parametrize("headers, reason", [
    ({}, "authentication required"),
    ({"X-API-Key": "hub_abcdefgh_" + "x" * 43}, "unknown API key"),
    ({"Authorization": "Bearer hub_short"}, "malformed API key"),
    ({"X-API-Key": "not-a-hub-key"}, "malformed API key"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "malformed Authorization header"),
    ({"Authorization": "Bearer not.a.jwt"}, "bearer tokens are not accepted"),
])
def test_key__missing_or_bad_credentials_are_401(sqlite_hub: Hub, headers: dict[str, str],
                                                 reason: str) -> None:
    with served(sqlite_hub) as api:
        response = api.get(OK_ROUTE, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/authentication")
    assert reason in response.json()["detail"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="hub"')
    assert ('error="invalid_token"' in challenge) == bool(headers)
    [denied] = denials(sqlite_hub)
    assert (denied.actor, denied.target, denied.outcome) == ("anonymous", f"GET {OK_ROUTE}",
                                                             "401")
    assert reason in (denied.detail or {})["reason"]


def test_key__wrong_secret_for_a_real_prefix_is_401(sqlite_hub: Hub) -> None:
    created = create_key(sqlite_hub, name="desk", role="agent", actor="test")
    forged = created.key[:-4] + ("AAAA" if not created.key.endswith("AAAA") else "BBBB")
    with served(sqlite_hub) as api:
        response = api.get(OK_ROUTE, headers=bearer(forged))
    assert response.status_code == 401 and "unknown API key" in response.text


def test_key__the_hot_path_hashes_once_and_records_the_first_use(sqlite_hub: Hub) -> None:
    created = create_key(sqlite_hub, name="desk", role="agent", actor="test")
    keys = ApiKeyVerifier(sqlite_hub.sessions)
    assert keys.admit(created.key) is None  # never verified: the caller must verify it
    verified = keys.verify(created.key)
    assert keys.cached(created.key) is verified  # and it leaves the last use alone
    assert keys.admit(created.key) == (verified, True)  # first use: record it
    assert keys.admit(created.key) == (verified, False)  # then not again within the minute
    assert keys.due_for_touch(created.key) is False
    keys.forget()
    assert keys.admit(created.key) is None


def test_key__revocation_takes_effect_within_the_cache_window(sqlite_hub: Hub) -> None:
    created = create_key(sqlite_hub, name="desk", role="agent", actor="test")
    with served(sqlite_hub, key_cache_seconds=0.2) as api:
        assert api.get(OK_ROUTE, headers=bearer(created.key)).status_code == 404
        revoke_key(sqlite_hub, created.info.prefix, actor="test")
        deadline = time.monotonic() + 10
        while (status := api.get(OK_ROUTE, headers=bearer(created.key)).status_code) != 401:
            assert status == 404 and time.monotonic() < deadline
            time.sleep(0.05)
    [denied] = denials(sqlite_hub)
    assert denied.actor == f"api:apikey:{created.info.prefix}"
    assert denied.detail == {"reason": "API key revoked"}


def test_key__a_cached_key_stays_valid_until_the_window_ends(sqlite_hub: Hub) -> None:
    created = create_key(sqlite_hub, name="desk", role="agent", actor="test")
    with served(sqlite_hub, key_cache_seconds=3600) as api:
        assert api.get(OK_ROUTE, headers=bearer(created.key)).status_code == 404
        revoke_key(sqlite_hub, created.info.prefix, actor="test")
        assert api.get(OK_ROUTE, headers=bearer(created.key)).status_code == 404


def test_key__expired_is_401(sqlite_hub: Hub) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    created = create_key(sqlite_hub, name="old", role="admin", expires_at=past, actor="test")
    with served(sqlite_hub) as api:
        response = api.get(OK_ROUTE, headers={"X-API-Key": created.key})
    assert response.status_code == 401 and "API key expired" in response.json()["detail"]
    assert denials(sqlite_hub)[0].actor == f"api:apikey:{created.info.prefix}"


def test_key__role_without_the_permission_is_403_naming_both(sqlite_hub: Hub) -> None:
    created = create_key(sqlite_hub, name="desk", role="agent", actor="test")
    with served(sqlite_hub) as api:
        response = api.get("/audit", headers=bearer(created.key))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/permission-denied")
    assert response.json()["detail"] == "role agent may not audit:read"
    [denied] = denials(sqlite_hub)
    assert (denied.actor, denied.target, denied.outcome) == (
        f"api:apikey:{created.info.prefix}", "GET /audit", "403")


def test_key__create_and_revoke_are_audited_without_the_secret(hub: Hub,
                                                               audit_text: Any) -> None:
    created = create_key(hub, name="desk", role="integrator", actor="cli:ops")
    revoke_key(hub, created.key, actor="cli:ops")  # a pasted whole key finds its prefix
    text = audit_text(hub)
    assert f"cli:ops|apikey.create|apikey/{created.info.prefix}|ok" in text
    assert f"cli:ops|apikey.revoke|apikey/{created.info.prefix}|ok" in text
    assert created.key not in text and created.key.split("_", 2)[2] not in text
    assert list_keys(hub)[0].revoked_at is not None


@pytest.mark.parametrize("text, delta", [("90d", timedelta(days=90)),
                                         ("12h", timedelta(hours=12)),
                                         ("30m", timedelta(minutes=30)),
                                         ("2w", timedelta(weeks=2))])
def test_parse_expiry__durations(text: str, delta: timedelta) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_expiry(text, now=now) == now + delta


def test_parse_expiry__dates_and_refusals() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_expiry("2027-01-01", now=now) == datetime(2027, 1, 1, tzinfo=UTC)
    for bad in ("0d", "soon", "2025-01-01", "-3d"):
        with pytest.raises(InvalidRequestError):
            parse_expiry(bad, now=now)


def test_create_key__refuses_unknown_roles_and_bad_scopes(sqlite_hub: Hub) -> None:
    with pytest.raises(InvalidRequestError, match="role 'root'"):
        create_key(sqlite_hub, name="x", role="root", actor="test")
    with pytest.raises(InvalidRequestError, match="scope"):
        create_key(sqlite_hub, name="x", role="agent", scopes=("PII!",), actor="test")


# --- JWT: the verifier ----------------------------------------------------------------------


def verifier(hub: Hub, **overrides: Any) -> JwtVerifier:
    return JwtVerifier(jwt_settings(hub, **overrides), refetch_seconds=0)


async def test_jwt__hs256_roles_and_scopes(sqlite_hub: Hub) -> None:
    check = verifier(sqlite_hub, jwt_roles_claim="groups")
    principal = await check.verify(hs256(claims(groups="agent reviewer", scope="pii read")))
    assert principal.subject == "jwt:alice" and principal.via == "jwt"
    assert principal.roles == {"agent"} and principal.scopes == {"pii", "read"}
    listed = await check.verify(hs256(claims(sub="bob", groups=["admin", "integrator"],
                                             scp=["x"])))
    assert listed.roles == {"admin", "integrator"} and listed.scopes == {"x"}
    assert (await check.verify(hs256(claims(aud=["other", AUDIENCE], groups="agent")))
            ).subject == "jwt:alice"


def alg_none(payload: dict[str, Any]) -> str:
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."


@pytest.mark.parametrize("make, reason", [
    (lambda now: hs256(claims(exp=now - 60)), "token expired"),
    (lambda now: hs256(claims(nbf=now + 120)), "not yet valid"),
    (lambda now: hs256(claims(iat=now + 120)), "not yet valid"),
    (lambda now: hs256(claims(aud="someone-else")), "wrong aud claim"),
    (lambda now: hs256(claims(iss="https://evil.example.com/")), "wrong iss claim"),
    (lambda now: hs256(claims(), key="another-secret-of-the-same-length-000000"),
     "signature does not verify"),
    (lambda now: alg_none(claims()), "unsupported token algorithm"),
    (lambda now: hs256({k: v for k, v in claims().items() if k != "exp"}), "lacks the exp"),
    (lambda now: hs256({k: v for k, v in claims().items() if k != "aud"}), "lacks the aud"),
    (lambda now: "a.b.c.d.e", "malformed bearer token"),
    (lambda now: f"{b64({'alg': 'HS256'})}.!!.x", "invalid bearer token"),
])
async def test_jwt__refused(sqlite_hub: Hub, make: Any, reason: str) -> None:
    with pytest.raises(AuthenticationError, match=reason):
        await verifier(sqlite_hub).verify(make(int(time.time())))


async def test_jwt__within_the_leeway_is_accepted(sqlite_hub: Hub) -> None:
    now = int(time.time())
    check = verifier(sqlite_hub)
    for payload in (claims(exp=now - 10), claims(nbf=now + 10), claims(iat=now + 10)):
        assert (await check.verify(hs256(payload))).subject == "jwt:alice"


async def test_jwt__no_known_role_is_permission_denied(sqlite_hub: Hub) -> None:
    with pytest.raises(PermissionDeniedError, match="no hub role"):
        await verifier(sqlite_hub).verify(hs256(claims(roles=["superuser"])))


# --- JWT: a JWKS on loopback ----------------------------------------------------------------


class Issuer:
    """An identity provider's JWKS endpoint whose signing key can be rotated."""

    def __init__(self) -> None:
        self.keys: list[Any] = []
        self.fetches = 0
        self.app = Starlette(routes=[Route("/jwks.json", self.jwks)])

    async def jwks(self, _request: Request) -> JSONResponse:
        self.fetches += 1
        return JSONResponse({"keys": [k.as_dict(is_private=False) for k in self.keys]})

    def rotate(self, kid: str) -> Any:
        key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": kid})
        self.keys = [key]
        return key

    @staticmethod
    def sign(key: Any, payload: dict[str, Any], alg: str = "RS256") -> str:
        header = {"alg": alg, "kid": key.as_dict()["kid"]}
        token: bytes = JsonWebToken([alg]).encode(header, payload, key)
        return token.decode()


async def test_jwks__verified_cached_and_refetched_for_a_new_kid(sqlite_hub: Hub) -> None:
    issuer = Issuer()
    first = issuer.rotate("k1")
    with serve(issuer.app) as url:
        check = JwtVerifier(jwt_settings(sqlite_hub, jwt_secret=None,
                                         jwt_jwks_url=f"{url}/jwks.json"),
                            refetch_seconds=0)
        assert (await check.verify(Issuer.sign(first, claims()))).roles == {"agent"}
        assert (await check.verify(Issuer.sign(first, claims(sub="bob")))).subject == "jwt:bob"
        assert issuer.fetches == 1
        second = issuer.rotate("k2")
        assert (await check.verify(Issuer.sign(second, claims(sub="carol")))
                ).subject == "jwt:carol"
        assert issuer.fetches == 2
        with pytest.raises(AuthenticationError, match="unknown key"):
            await check.verify(Issuer.sign(first, claims(sub="dave")))
        # The shared-key algorithm is refused when only a JWKS is configured (no alg confusion).
        with pytest.raises(AuthenticationError, match="unsupported token algorithm"):
            await check.verify(hs256(claims()))
        impostor = JsonWebKey.generate_key("RSA", 2048, is_private=True,
                                           options={"kid": "k2"})
        with pytest.raises(AuthenticationError, match="signature"):
            await check.verify(Issuer.sign(impostor, claims(sub="eve")))


# --- JWT over HTTP, denials and secrets ----------------------------------------------------


def test_jwt_over_http__ok_401_and_403(sqlite_hub: Hub) -> None:
    now = int(time.time())
    with served(sqlite_hub, settings=jwt_settings(sqlite_hub)) as api:
        ok = api.get(OK_ROUTE, headers=bearer(hs256(claims())))
        expired = api.get(OK_ROUTE, headers=bearer(hs256(claims(exp=now - 600))))
        roleless = api.get(OK_ROUTE, headers=bearer(hs256(claims(roles="guest"))))
        forbidden = api.get("/audit", headers=bearer(hs256(claims())))
    assert ok.status_code == 404
    assert expired.status_code == 401
    assert 'error_description="token expired"' in expired.headers["www-authenticate"]
    assert roleless.status_code == 403 and "no hub role" in roleless.json()["detail"]
    assert forbidden.status_code == 403
    assert [(d.actor, d.outcome) for d in denials(sqlite_hub)] == [
        ("anonymous", "401"), ("api:jwt:alice", "403"), ("api:jwt:alice", "403")]


def test_no_key_or_token_in_responses_audit_or_logs(sqlite_hub: Hub, audit_text: Any,
                                                    caplog: pytest.LogCaptureFixture,
                                                    tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    now = int(time.time())
    good = create_key(sqlite_hub, name="desk", role="agent", actor="test").key
    revoked = create_key(sqlite_hub, name="gone", role="agent", actor="test")
    revoke_key(sqlite_hub, revoked.info.prefix, actor="test")
    expired = create_key(sqlite_hub, name="old", role="agent", actor="test",
                         expires_at=datetime.now(UTC) - timedelta(days=1)).key
    tokens = [hs256(claims(exp=now - 600)), hs256(claims(aud="x")),
              hs256(claims(), key="wrong-secret-wrong-secret-wrong-secret"),
              alg_none(claims()), hs256(claims(roles="guest")), hs256(claims())]
    secrets = [good, revoked.key, expired, good[:-3] + "xyz", *tokens]
    shown = []
    with served(sqlite_hub, settings=jwt_settings(sqlite_hub)) as api:
        for secret in secrets:
            for headers in (bearer(secret), {"X-API-Key": secret}):
                for path in (OK_ROUTE, "/audit"):
                    response = api.get(path, headers=headers)
                    shown.append(response.text + str(response.headers))
    assert len(denials(sqlite_hub)) > len(secrets)
    for where, text in (("responses", "\n".join(shown)), ("audit", audit_text(sqlite_hub)),
                        ("logs", caplog.text)):
        for secret in secrets:
            assert secret not in text, where
            signature = secret.split(".")[-1][:20]
            assert not signature or signature not in text, where


# --- Bounded identities, one credential per request, the public contract -------------------


def test_jwt__a_300_character_sub_creates_tickets_audited_under_a_bounded_actor(
        hub: Hub) -> None:
    """On PostgreSQL a subject longer than the actor and idempotency columns used to be a 500;
    two long subjects sharing a prefix stay two callers (an Idempotency-Key is per caller)."""
    first, second = "u" * 300 + "-first", "u" * 300 + "-second"
    key = {"Idempotency-Key": "long-sub-1"}
    body = {"subject": "发票抬头开错了", "channel": "web"}
    with served(hub, settings=jwt_settings(hub)) as api:
        made = api.post("/tickets", json=body,
                        headers={**bearer(hs256(claims(sub=first))), **key})
        again = api.post("/tickets", json=body,
                         headers={**bearer(hs256(claims(sub=first))), **key})
        other = api.post("/tickets", json=body,
                         headers={**bearer(hs256(claims(sub=second))), **key})
    assert [made.status_code, again.status_code, other.status_code] == [201, 201, 201]
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in other.headers
    assert other.json()["id"] != made.json()["id"]
    import sqlalchemy as sa

    with hub.sessions() as session:
        actors = set(session.scalars(sa.select(AuditRecord.actor).where(
            AuditRecord.action == "ticket.create")))
    assert len(actors) == 2 and all(len(actor) <= 200 for actor in actors)
    assert all(actor.startswith("api:jwt:uuuu") for actor in actors)


@pytest.mark.parametrize("conflict", [
    "valid key + bad Authorization", "two valid keys", "two Authorization headers",
    "two X-API-Key headers"])
def test_credentials__more_than_one_is_401(sqlite_hub: Hub, conflict: str) -> None:
    one = create_key(sqlite_hub, name="one", role="agent", scopes=(), actor="test").key
    two = create_key(sqlite_hub, name="two", role="admin", scopes=(), actor="test").key
    headers = {
        "valid key + bad Authorization": [("X-API-Key", one), ("Authorization", "Bearer x.y.z")],
        "two valid keys": [("X-API-Key", one), ("Authorization", f"Bearer {two}")],
        "two Authorization headers": [("Authorization", f"Bearer {one}"),
                                      ("Authorization", f"Bearer {two}")],
        "two X-API-Key headers": [("X-API-Key", one), ("X-API-Key", two)],
    }[conflict]
    with served(sqlite_hub) as api:
        response = api.get(OK_ROUTE, headers=httpx.Headers(headers))
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "one credential" in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith('Bearer realm="hub"')
    [denied] = denials(sqlite_hub)
    assert (denied.actor, denied.outcome) == ("anonymous", "401")
    assert one not in response.text and two not in response.text


def test_docs__the_contract_is_public_and_holds_no_data(sqlite_hub: Hub) -> None:
    """/docs, /redoc and /openapi.json need no credentials (the API's contract, no data):
    the document itself says so, and every other route it lists needs credentials."""
    with served(sqlite_hub) as api:
        pages = {path: api.get(path) for path in ("/docs", "/redoc", "/openapi.json")}
        assert {path: r.status_code for path, r in pages.items()} == dict.fromkeys(pages, 200)
        document = pages["/openapi.json"].json()
        assert "without credentials" in document["info"]["description"]
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if path in ("/health", "/webhooks/{connection}"):
                    assert "security" not in operation, (method, path)
                    continue
                assert operation["security"], (method, path)
                anonymous = api.request(method.upper(), path.replace("{", "").replace("}", ""))
                assert anonymous.status_code == 401, (method, path, anonymous.text)
