"""The Kingdee WebAPI protocol: service paths, named ("v3") bodies, sessions, queries.

Every call is `POST <base>/<ServiceName>.common.kdsvc` with a JSON body. A session comes from
one of three logins and travels as the `kdservice-sessionid` cookie and header; in
`signed_headers` mode every request is signed instead and no login is made (§3 of the notes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from connectors.sdk import AuthError, ConnectorError, HttpClient
from connectors.sdk.redaction import Redactor, register_credential

from ._envelope import SessionLostError
from ._signing import login_sign, signed_headers

if TYPE_CHECKING:
    from .connector import KingdeeConfig

__all__ = [
    "AUTH",
    "FORM",
    "KingdeeAuth",
    "KingdeeClient",
    "SessionRenewedError",
    "SessionState",
    "service_path",
]

AUTH = "Kingdee.BOS.WebApi.ServicesStub.AuthService."
FORM = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService."
SESSION_HEADER = "kdservice-sessionid"
MAX_LIMIT = 2000  # the documented per-page cap of ExecuteBillQuery


def service_path(service: str) -> str:
    """The request path of a service, relative to the site root."""
    return f"/{service}.common.kdsvc"


class SessionRenewedError(ConnectorError):
    """A write met "session lost" and the client logged in again. The write must look its
    document up before any resend (it is never sent blindly twice)."""


@dataclass
class SessionState:
    """The connection's session: one login at a time, told apart by generation."""

    session_id: str | None = None
    generation: int = 0
    logins: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class KingdeeAuth(httpx.Auth):
    """Puts the current session (or the signed headers) on every request, retries included."""

    def __init__(
        self, session: SessionState, signer: Callable[[str], dict[str, str]] | None
    ) -> None:
        self._session = session
        self._signer = signer

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._signer is not None:
            path = request.url.raw_path.decode("ascii").split("?", 1)[0]
            request.headers.update(self._signer(path))
        else:
            sid = self._session.session_id
            if sid:
                request.headers[SESSION_HEADER] = sid
                # The client's cookie jar may still hold a dead session's cookie: replace it.
                request.headers["Cookie"] = f"{SESSION_HEADER}={sid}"
        yield request


def make_signer(config: KingdeeConfig) -> Callable[[str], dict[str, str]]:
    def sign(path: str) -> dict[str, str]:
        headers = signed_headers(
            path=path, acct_id=config.acct_id, username=config.username,
            app_id=config.app_id or "", app_secret=_secret(config.app_secret),
            lcid=config.lcid, org_num=config.org_num, timestamp=int(time.time()),
        )
        register_credential(headers["X-Api-Signature"], headers["X-Kd-Signature"],
                            slot=f"kingdee:signature:{config.acct_id}:{config.username}")
        return headers
    return sign


def _login_tokens(result: Mapping[str, Any]) -> list[str]:
    """The other credentials a login answer carries (session id, user and access tokens)."""
    context = result.get("Context")
    places = [(result, "AccessToken"), *((context, k) for k in ("SessionId", "UserToken")
                                          if isinstance(context, Mapping))]
    return [str(place[key]) for place, key in places if place.get(key)]


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


class KingdeeClient:
    """Calls services through the connection's HttpClient, logging in when needed."""

    def __init__(
        self, http: HttpClient, config: KingdeeConfig, session: SessionState, redactor: Redactor
    ) -> None:
        self.http = http
        self.config = config
        self.session = session
        self.redactor = redactor

    # -- sessions ---------------------------------------------------------------------

    def _login_call(self) -> tuple[str, dict[str, Any]]:
        c = self.config
        if c.auth == "password":
            return "ValidateUser", {"acctid": c.acct_id, "username": c.username,
                                    "password": _secret(c.password), "lcid": c.lcid}
        if c.auth == "app_secret":
            return "LoginByAppSecret", {"acctid": c.acct_id, "username": c.username,
                                        "appid": c.app_id, "appsecret": _secret(c.app_secret),
                                        "lcid": c.lcid}
        stamp = int(time.time())
        sign = login_sign(c.acct_id, c.username, c.app_id or "", _secret(c.app_secret), stamp)
        register_credential(sign, slot=f"kingdee:login-sign:{c.acct_id}:{c.username}")
        return "LoginBySign", {"acctid": c.acct_id, "username": c.username, "appid": c.app_id,
                               "timestamp": stamp, "sign": sign, "lcid": c.lcid}

    async def _login(self) -> None:
        method, body = self._login_call()
        self.session.session_id = None
        response = await self.http.send("POST", service_path(AUTH + method),
                                        operation="login", json=body, retry_safe=True)
        result = response.json()
        sid = str(result["KDSVCSessionId"])
        register_credential(sid, *_login_tokens(result),
                            slot=f"kingdee:session:{self.http.connection}")
        self.session.session_id = sid
        self.session.generation += 1
        self.session.logins += 1

    async def _ensure_session(self) -> int:
        if self.config.auth == "signed_headers":
            return self.session.generation
        if self.session.session_id is None:
            async with self.session.lock:
                if self.session.session_id is None:
                    await self._login()
        return self.session.generation

    async def _renew(self, generation: int) -> None:
        """Log in again unless another call already did since `generation` was current."""
        if self.config.auth == "signed_headers":
            return  # nothing to renew: the next request is signed afresh
        async with self.session.lock:
            if self.session.generation == generation:
                await self._login()

    # -- calls ------------------------------------------------------------------------

    async def call(
        self, service: str, body: Mapping[str, Any], *, operation: str,
        retry_safe: bool = False, resend: bool = True,
    ) -> Any:
        """Send one call; on "session lost" log in again (at most `max_relogins` times).

        With `resend=False` (writes) the call is not repeated after a re-login:
        SessionRenewedError tells the caller to look its document up first.
        """
        relogins = 0
        while True:
            generation = await self._ensure_session()
            try:
                response = await self.http.send("POST", service_path(service),
                                                operation=operation, json=body,
                                                retry_safe=retry_safe)
                return response.json()
            except SessionLostError as lost:
                if relogins >= self.config.max_relogins:
                    raise AuthError(
                        f"the session was lost again after {relogins} re-login(s): the "
                        "credentials or the app authorisation are probably wrong",
                        connector=lost.connector, connection=lost.connection,
                        operation=operation, vendor_code=lost.vendor_code,
                    ) from None
                relogins += 1
                await self._renew(generation)
                if not resend:
                    raise SessionRenewedError(
                        "session lost during a write; logged in again",
                        connection=lost.connection, operation=operation,
                    ) from None

    async def form_op(
        self, op: str, form: str, data: Mapping[str, Any], *, operation: str
    ) -> Mapping[str, Any]:
        """Save / Submit / Audit / Delete / View: `{"formid", "data"}`; returns `Result`."""
        body = await self.call(FORM + op, {"formid": form, "data": data},
                               operation=operation, resend=False)
        result: Mapping[str, Any] = body.get("Result") or {}
        return result

    async def query(
        self, form: str, keys: Sequence[str], *, filter: str = "", order: str = "",
        start: int = 0, limit: int = MAX_LIMIT, operation: str | None = None,
    ) -> list[dict[str, Any]]:
        """One ExecuteBillQuery page as dicts keyed by `keys` (the rows zipped)."""
        data = {"FormId": form, "FieldKeys": ",".join(keys), "FilterString": filter,
                "OrderString": order, "TopRowCount": 0, "StartRow": start,
                "Limit": min(limit, MAX_LIMIT), "SubSystemId": ""}
        rows = await self.call(FORM + "ExecuteBillQuery", {"data": data},
                               operation=operation or f"{form}.query", retry_safe=True)
        if not isinstance(rows, list):
            raise ConnectorError(f"{form} query answered {type(rows).__name__}, not rows",
                                 connection=self.http.connection, operation=operation)
        return [dict(zip(keys, row, strict=False)) for row in rows]

    async def pages(
        self, form: str, keys: Sequence[str], *, filter: str = "", order: str,
        page_size: int, operation: str | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a query, StartRow advancing, until a short page."""
        start = 0
        size = min(page_size, MAX_LIMIT)
        while True:
            page = await self.query(form, keys, filter=filter, order=order, start=start,
                                    limit=size, operation=operation)
            yield page
            if len(page) < size:
                return
            start += len(page)


def quote(value: str) -> str:
    """A FilterString string literal: single quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"
