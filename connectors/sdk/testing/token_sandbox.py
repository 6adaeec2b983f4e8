"""A token server for tests: issues short-lived tokens and guards one protected endpoint.

Two modes:

* ``"oauth2"``: ``POST /oauth/token`` (RFC 6749 form posts, grants ``client_credentials``
  and ``refresh_token``, client authentication by Basic header or form fields); the
  protected endpoint wants ``Authorization: Bearer`` and answers 401 ``invalid_token``.
* ``"dingtalk"``: ``GET /gettoken?appkey=&appsecret=`` answering
  ``{"errcode":0,"access_token":...,"expires_in":N}`` (within its life, a repeat fetch returns
  the same token with its life extended, as DingTalk does); the protected endpoint wants the
  ``access_token`` query parameter and answers HTTP 200 ``{"errcode":40014,...}``.

Both: ``GET /api/items`` (protected), ``GET /_sandbox/stats`` (counters and an event log,
never a token value) and ``POST /_sandbox/expire`` (every current token expires at once).

    app = create_token_sandbox(mode="oauth2", lifetime=1, refresh_token="seed-rt")
    with serve(app) as url:
        ...
        stats = httpx.get(f"{url}/_sandbox/stats").json()
        assert stats["token_fetches"] == 1
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import secrets
import threading
import time
from collections import Counter
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

__all__ = ["TokenSandbox", "create_token_sandbox"]

Mode = Literal["oauth2", "dingtalk"]
_DINGTALK_INVALID = {"errcode": 40014, "errmsg": "不合法的access_token"}


class _TokenRefused(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status, self.body = status, body


class TokenSandbox:
    """The sandbox's state: live tokens, refresh tokens, counters and the event log."""

    def __init__(
        self, *, mode: Mode, client_id: str, client_secret: str, lifetime: float,
        refresh_token: str | None, rotate_refresh_tokens: bool, issue_refresh_tokens: bool,
        token_delay: float,
    ) -> None:
        self.mode = mode
        self.client_id, self.client_secret = client_id, client_secret
        self.lifetime = lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.issue_refresh_tokens = issue_refresh_tokens
        self.token_delay = token_delay
        self.access_tokens: dict[str, float] = {}  # token -> expires_at (Unix seconds)
        self.refresh_tokens: set[str] = {refresh_token} if refresh_token else set()
        self.spent_refresh_tokens: set[str] = set()
        self.counters: Counter[str] = Counter()
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    # -- tokens ---------------------------------------------------------------------------
    def _event(self, event: str, **details: Any) -> None:
        self.events.append({"event": event, "at": time.time(), **details})

    def issue(self, grant: str, *, with_refresh: bool) -> dict[str, Any]:
        with self._lock:
            now = time.time()
            token = None
            if self.mode == "dingtalk":
                # DingTalk: a fetch inside the validity window returns the same token, extended.
                token = next((t for t, exp in self.access_tokens.items() if exp > now), None)
            token = token or f"at-{secrets.token_urlsafe(18)}"
            self.access_tokens[token] = now + self.lifetime
            self.counters["token_fetches"] += 1
            self.counters[f"grant:{grant}"] += 1
            self._event("token", grant=grant, ok=True)
            issued: dict[str, Any] = {"access_token": token, "expires_in": self.lifetime}
            if with_refresh:
                refresh = f"rt-{secrets.token_urlsafe(18)}"
                self.refresh_tokens.add(refresh)
                issued["refresh_token"] = refresh
            return issued

    def refuse(self, grant: str, reason: str) -> None:
        with self._lock:
            self.counters["token_fetches_refused"] += 1
            self._event("token", grant=grant, ok=False, reason=reason)

    def spend_refresh_token(self, refresh_token: str) -> str | None:
        """None if the refresh token is good (and now spent, when rotating), else why not."""
        with self._lock:
            self.counters["refresh_tokens_presented"] += 1
            if refresh_token in self.spent_refresh_tokens:
                self.counters["refresh_token_reuses"] += 1
                return "refresh token already used"
            if refresh_token not in self.refresh_tokens:
                return "unknown refresh token"
            if self.rotate_refresh_tokens:
                self.refresh_tokens.discard(refresh_token)
                self.spent_refresh_tokens.add(refresh_token)
            return None

    def check(self, token: str | None) -> bool:
        """Count a protected call; True if `token` is live."""
        with self._lock:
            self.counters["protected_calls"] += 1
            expires_at = self.access_tokens.get(token or "")
            if expires_at is not None and expires_at > time.time():
                self.counters["accepted"] += 1
                return True
            self.counters["rejections"] += 1
            self._event("rejected", reason="missing" if not token else
                        "expired" if expires_at is not None else "unknown")
            return False

    def expire_all(self) -> int:
        with self._lock:
            now = time.time()
            live = [t for t, exp in self.access_tokens.items() if exp > now]
            for token in live:
                self.access_tokens[token] = now - 1
            self._event("expire_all", count=len(live))
            return len(live)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counters = self.counters
            grants = {k.split(":", 1)[1]: v for k, v in counters.items() if k.startswith("grant:")}
            methods = {k.split(":", 1)[1]: v for k, v in counters.items()
                       if k.startswith("client_auth:")}
            return {
                "mode": self.mode,
                **{name: counters[name] for name in (
                    "token_fetches", "token_fetches_refused", "refresh_tokens_presented",
                    "refresh_token_reuses", "protected_calls", "accepted", "rejections")},
                "grants": grants,
                "client_auth": methods,
                "log": list(self.events),
            }

    # -- OAuth2 client authentication -------------------------------------------------------
    def client_method(self, request: Request, form: dict[str, str]) -> str:
        """Which client authentication the request used; raises if it does not hold."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                pair = base64.b64decode(header[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                pair = ""
            client_id, _, secret = (unquote(p) for p in pair.partition(":"))
            method = "client_secret_basic"
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            method = "client_secret_post"
        if client_id != self.client_id or not hmac.compare_digest(secret, self.client_secret):
            raise _TokenRefused(401, {"error": "invalid_client",
                                      "error_description": "client authentication failed"})
        with self._lock:
            self.counters[f"client_auth:{method}"] += 1
        return method


def _oauth_token(sandbox: TokenSandbox, request: Request, form: dict[str, str]
                 ) -> dict[str, Any]:
    grant = form.get("grant_type", "")
    sandbox.client_method(request, form)
    if grant == "client_credentials":
        return sandbox.issue(grant, with_refresh=sandbox.issue_refresh_tokens)
    if grant == "refresh_token":
        problem = sandbox.spend_refresh_token(form.get("refresh_token", ""))
        if problem:
            raise _TokenRefused(400, {"error": "invalid_grant", "error_description": problem})
        return sandbox.issue(grant, with_refresh=sandbox.rotate_refresh_tokens)
    raise _TokenRefused(400, {"error": "unsupported_grant_type"})


def create_token_sandbox(
    *,
    mode: Mode = "oauth2",
    client_id: str = "sandbox-client",
    client_secret: str = "sandbox-secret",
    lifetime: float = 7200.0,
    refresh_token: str | None = None,
    rotate_refresh_tokens: bool = True,
    issue_refresh_tokens: bool = False,
    token_delay: float = 0.0,
) -> FastAPI:
    """Build the token sandbox; its state is ``app.state.sandbox`` (a TokenSandbox).

    Args:
        mode: "oauth2" or "dingtalk" (see the module docstring).
        client_id: the accepted client id (DingTalk mode: the appkey).
        client_secret: the accepted client secret (DingTalk mode: the appsecret).
        lifetime: seconds each access token lives (1 is fine).
        refresh_token: a seed refresh token the server accepts (OAuth2 refresh flow).
        rotate_refresh_tokens: a refresh returns a new refresh token and the one presented
            is refused from then on; otherwise refresh tokens stay valid and are not re-sent.
        issue_refresh_tokens: the client-credentials grant returns a refresh token too.
        token_delay: seconds the token endpoint waits before answering (widens races).
    """
    sandbox = TokenSandbox(
        mode=mode, client_id=client_id, client_secret=client_secret, lifetime=lifetime,
        refresh_token=refresh_token, rotate_refresh_tokens=rotate_refresh_tokens,
        issue_refresh_tokens=issue_refresh_tokens, token_delay=token_delay,
    )
    app = FastAPI(title="token sandbox", openapi_url=None)
    app.state.sandbox = sandbox
    if mode == "oauth2":
        _add_oauth_token_route(app, sandbox)
    else:
        _add_dingtalk_token_route(app, sandbox)
    _add_api_routes(app, sandbox)
    return app


def _add_oauth_token_route(app: FastAPI, sandbox: TokenSandbox) -> None:
    @app.post("/oauth/token")
    async def oauth_token(request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if sandbox.token_delay:
            await asyncio.sleep(sandbox.token_delay)
        try:
            issued = _oauth_token(sandbox, request, form)
        except _TokenRefused as refused:
            sandbox.refuse(form.get("grant_type", ""), str(refused.body["error"]))
            return JSONResponse(refused.body, status_code=refused.status,
                                headers={"Cache-Control": "no-store"})
        return JSONResponse(issued | {"token_type": "Bearer"},
                            headers={"Cache-Control": "no-store"})


def _add_dingtalk_token_route(app: FastAPI, sandbox: TokenSandbox) -> None:
    @app.get("/gettoken")
    async def gettoken(appkey: str = "", appsecret: str = "") -> dict[str, Any]:
        if sandbox.token_delay:
            await asyncio.sleep(sandbox.token_delay)
        if not appkey or not appsecret:
            sandbox.refuse("gettoken", "missing")
            return {"errcode": 40035, "errmsg": "缺少参数 corpid or appkey"}
        if appkey != sandbox.client_id or not hmac.compare_digest(appsecret,
                                                                  sandbox.client_secret):
            sandbox.refuse("gettoken", "bad credentials")
            return {"errcode": 40096, "errmsg": "不合法的appKey或appSecret"}
        issued = sandbox.issue("gettoken", with_refresh=False)
        return {"errcode": 0, "errmsg": "ok", **issued}


def _add_api_routes(app: FastAPI, sandbox: TokenSandbox) -> None:
    """A protected API to call with the tokens, and the sandbox's own stats and expiry."""

    @app.get("/api/items", response_model=None)
    async def items(request: Request) -> JSONResponse | dict[str, Any]:
        payload = [{"id": n, "name": f"item {n}"} for n in range(1, 4)]
        if sandbox.mode == "dingtalk":
            if not sandbox.check(request.query_params.get("access_token")):
                return _DINGTALK_INVALID
            return {"errcode": 0, "errmsg": "ok", "items": payload}
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else None
        if not sandbox.check(token):
            return JSONResponse({"error": "invalid_token"}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return {"items": payload}

    @app.get("/_sandbox/stats")
    async def stats() -> dict[str, Any]:
        return sandbox.stats()

    @app.post("/_sandbox/expire")
    async def expire() -> dict[str, int]:
        return {"expired": sandbox.expire_all()}
