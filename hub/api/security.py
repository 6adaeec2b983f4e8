"""Authentication (API keys, OAuth2 bearer JWTs) and per-area authorization.

`require_area(area)` admits the caller of a protected route (admission.py runs it first on
every route of a protected router). It finds the credentials — `Authorization: Bearer hub_…`
or `X-API-Key: hub_…` for API keys, `Authorization: Bearer <jwt>` for OAuth2 tokens — turns
them into a Principal, checks that a role of the caller holds `area:read` (GET/HEAD/OPTIONS)
or `area:write` (anything else), and sets `request.state.principal`.

Every refusal is a 401 (with `WWW-Authenticate`) or a 403, and one `api.denied` audit row
naming the reason — never the key or token; repeats of one denial from one client within
`denial_window_seconds` are counted and written as one `api.denied.repeats` row (see
hub/audit_throttle.py), so a flood cannot queue writers behind the chain. The allowed path
stays cheap: verified keys and tokens are cached in-process (a revocation takes effect
within `Authenticator.key_cache_seconds`, 30 s by default), nothing is written per request
except a key's `last_used_at`, at most once a minute.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import anyio
from fastapi import FastAPI, Request

from hub.access.apikeys import ApiKeyVerifier, VerifiedKey, looks_like_key
from hub.access.principal import principal_of_key
from hub.audit import AuditEntry
from hub.audit.throttle import AuditThrottle
from hub.core.settings import Settings
from hub.errors import AuthenticationError, HubError, PermissionDeniedError
from hub.runtime import Hub

from .jwt_bearer import JwtVerifier
from .principal import Principal

__all__ = ["Authenticator", "authenticator", "install_authenticator", "require_area"]

log = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REALM = 'Bearer realm="hub"'


class Authenticator:
    """One per app: the API key verifier and the JWT verifier, with their caches."""

    def __init__(self, hub: Hub, *, settings: Settings | None = None,
                 key_cache_seconds: float = 30.0, jwks_refetch_seconds: float = 10.0,
                 denial_window_seconds: float | None = None) -> None:
        self.hub = hub
        self.keys = ApiKeyVerifier(hub.sessions, cache_seconds=key_cache_seconds)
        self.jwt = JwtVerifier(settings or hub.settings, refetch_seconds=jwks_refetch_seconds,
                               cache_seconds=key_cache_seconds)
        window = (settings or hub.settings).denial_window_seconds \
            if denial_window_seconds is None else denial_window_seconds
        self.denials = AuditThrottle(window_seconds=window)
        # The Principal of each cached key, made once per cache entry (by key prefix).
        self._principals: dict[str, tuple[VerifiedKey, Principal]] = {}
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    async def authenticate(self, request: Request) -> Principal:
        kind, credential = _credential(request)
        if kind == "api_key":
            return await self._api_key(credential)
        return await self.jwt.verify(credential)

    async def _api_key(self, key: str) -> Principal:
        admitted = self.keys.admit(key)
        if admitted is None:
            verified = await anyio.to_thread.run_sync(self.keys.verify, key)
            due = self.keys.due_for_touch(key)
        else:
            verified, due = admitted
        if due:
            try:
                await anyio.to_thread.run_sync(self.keys.touch, verified.prefix)
            except Exception as exc:  # noqa: BLE001 -- bookkeeping must not fail the call
                log.warning("could not record last use of %s: %s", verified.subject,
                            type(exc).__name__)
        return self._principal(verified)

    def _principal(self, verified: VerifiedKey) -> Principal:
        # The verifier hands out the same VerifiedKey until it checks the key again (every
        # `key_cache_seconds`), so a Principal made for that object speaks for the key as
        # last checked.
        held = self._principals.get(verified.prefix)
        if held is not None and held[0] is verified:
            return held[1]
        principal = principal_of_key(verified)
        if len(self._principals) >= ApiKeyVerifier.MAX_CACHED:
            self._principals.clear()
        self._principals[verified.prefix] = (verified, principal)
        return principal

    async def deny(self, request: Request, error: HubError, *, actor: str) -> None:
        entry = AuditEntry(actor=actor, action="api.denied",
                           target=f"{request.method} {request.url.path}",
                           outcome=str(error.http_status), detail={"reason": str(error)})
        log.info("API %s %s denied (%s): %s", request.method, request.url.path,
                 error.http_status, error)
        client = request.client.host if request.client else "-"
        group = f"{request.method} {_path_group(request.url.path)}"
        kind = (actor, entry.outcome, str(error), client, group)
        entries = self.denials.admit(kind, entry, group=group, client=client)
        if self.denials.pending():
            self._flush_when_window_closes()
        await self._record(entries)

    def flush_denials(self) -> None:
        """Write the counts of every window now (at shutdown; in tests)."""
        entries = self.denials.flush(everything=True)
        if entries:
            self.hub.audit.record(entries)

    async def _record(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        try:
            await anyio.to_thread.run_sync(self.hub.audit.record, entries)
        except Exception as exc:  # noqa: BLE001 -- the denial stands even if audit fails
            log.error("could not audit an API denial: %s", type(exc).__name__)

    def _flush_when_window_closes(self) -> None:
        if self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(
                self.denials.window_seconds, self._flush_closed_windows)

    def _flush_closed_windows(self) -> None:
        self._flush_timer = None
        task = asyncio.ensure_future(self._write_closed_windows())
        self._flushes.add(task)  # a task nobody references may be collected mid-run
        task.add_done_callback(self._flushes.discard)

    async def _write_closed_windows(self) -> None:
        await self._record(self.denials.flush())
        if self.denials.pending():
            self._flush_when_window_closes()


def _path_group(path: str) -> str:
    """The first segment of a path: `/tickets/42` → `/tickets/*`."""
    first, _, rest = path.lstrip("/").partition("/")
    return f"/{first}/*" if rest else f"/{first}"


def _credential(request: Request) -> tuple[str, str]:
    # One pass over the raw headers (ASGI servers give their names in lower case), as
    # Starlette's Headers would read them, without building it.
    api_key = authorization = None
    given = 0
    for name, raw in request.scope["headers"]:
        if name == b"x-api-key":
            api_key, given = raw.decode("latin-1"), given + 1
        elif name == b"authorization":
            authorization, given = raw.decode("latin-1"), given + 1
    # One credential per request: with two, which one speaks for the caller is ambiguous
    # (a valid key must not quietly win over a bad or foreign token).
    if given > 1:
        raise _invalid("send one credential: Authorization or X-API-Key, once")
    if api_key is not None:
        api_key = api_key.strip()
        if not looks_like_key(api_key):
            raise _invalid("malformed API key")
        return "api_key", api_key
    if authorization is None:
        error = AuthenticationError("authentication required: send Authorization: Bearer "
                                    "<token or API key> or X-API-Key")
        error.headers = {"WWW-Authenticate": REALM}
        raise error
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise _invalid("malformed Authorization header: expected Bearer <credentials>")
    return ("api_key" if looks_like_key(value) else "jwt"), value


def _invalid(message: str) -> AuthenticationError:
    return AuthenticationError(message)


def _challenge(error: AuthenticationError) -> None:
    """RFC 6750: a bare challenge without credentials, `invalid_token` when they were bad."""
    if "WWW-Authenticate" in vars(error).get("headers", {}):
        return
    description = str(error).replace('"', "'").replace("\\", "")
    error.headers = {
        "WWW-Authenticate": f'{REALM}, error="invalid_token", '
                            f'error_description="{description}"'}


def authenticator(app: FastAPI) -> Authenticator:
    """The app's Authenticator, made on first use from `app.state.hub`."""
    auth: Authenticator | None = getattr(app.state, "authenticator", None)
    if auth is None:
        auth = app.state.authenticator = Authenticator(app.state.hub)
    return auth


def install_authenticator(app: FastAPI, auth: Authenticator) -> Authenticator:
    """Use `auth` (e.g. with a short key cache in tests) instead of the default one."""
    app.state.authenticator = auth
    return auth


def require_area(area: str, *, then: Callable[[Request], Awaitable[None]] | None = None
                 ) -> Callable[[Request], Awaitable[Principal]]:
    """What admits a caller whose role holds `area` (the principal, also left in
    `request.state.principal`); `then` runs once the caller is admitted."""
    # The OpenAPI securitySchemes are declared by docs.py, once for every protected route.
    may_read, may_write = f"{area}:read", f"{area}:write"

    async def admit(request: Request) -> Principal:
        auth = authenticator(request.app)
        try:
            principal = await auth.authenticate(request)
        except AuthenticationError as error:
            _challenge(error)
            await auth.deny(request, error,
                            actor=_actor(getattr(error, "subject", None)))
            raise
        except PermissionDeniedError as error:
            await auth.deny(request, error, actor=_actor(getattr(error, "subject", None)))
            raise
        permission = may_read if request.method in READ_METHODS else may_write
        if not principal.may(permission):
            roles = ", ".join(sorted(principal.roles))
            refusal = PermissionDeniedError(f"role {roles} may not {permission}")
            await auth.deny(request, refusal, actor=principal.actor)
            raise refusal
        request.state.principal = principal
        if then is not None:
            await then(request)
        return principal

    admit.__name__ = f"require_{area}"
    return admit


def _actor(subject: str | None) -> str:
    return f"api:{subject}" if subject else "anonymous"
