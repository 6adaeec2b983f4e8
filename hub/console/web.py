"""What every console page shares: the signed-in user admitted (session, key re-checked,
CSRF on every POST, the area's permission), rendering through the templates in the user's
language with safe headers, personal data masked as the API masks it, and errors as pages.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import anyio
import orjson
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hub.access.masking_rules import MaskingRules
from hub.errors import AuthenticationError, HubError, PermissionDeniedError
from hub.runtime import Hub

from .auth import ConsoleAuth, User, session_actor
from .messages import LANGUAGES, Translator, language_of
from .sessions import COOKIE, Session

__all__ = ["Console", "Endpoint", "SignInRequired", "admitted", "blocking", "console_of",
           "masked", "redirect", "render", "session_cookie"]

T = TypeVar("T")
Endpoint = Callable[[Request, User], Awaitable[Response]]

# Pages are the user's own: never cached, never framed, scripts and styles only our own.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
NAVIGATION = (  # (path under /console, message, the permission that shows it)
    ("/dashboard", "nav.dashboard", "runs:read"),
    ("/tickets", "nav.tickets", "tickets:read"),
    ("/outbox", "nav.outbox", "outbox:read"),
    ("/dead-letters", "nav.dead_letters", "outbox:read"),
    ("/jobs", "nav.jobs", "jobs:read"),
    ("/runs", "nav.runs", "runs:read"),
    ("/connections", "nav.connections", "connections:read"),
    ("/audit", "nav.audit", "audit:read"),
    ("/imports", "nav.imports", "imports:read"),
    ("/mappings", "nav.mappings", "connections:read"),
)

_templates = Environment(loader=PackageLoader("hub.console", "templates"),
                         autoescape=select_autoescape(["html"]), trim_blocks=True,
                         lstrip_blocks=True)


def _replace_cursor(query: str, cursor: str | None) -> str:
    """This page's query string with `cursor` set (None: dropped, the first page)."""
    pairs = [(name, value) for name, value in parse_qsl(query, keep_blank_values=True)
             if name != "cursor"]
    if cursor:
        pairs.append(("cursor", cursor))
    return urlencode(pairs)


def _compact(value: Any) -> str:
    """A value as short JSON, characters as they are (不是 \\u4e0d)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


_templates.filters.update(replace_cursor=_replace_cursor, compact=_compact, pretty=_pretty)


class SignInRequired(Exception):
    """No valid session: the visitor is sent to the sign-in page (`ended`: a session was
    there and is over, e.g. its key was revoked)."""

    def __init__(self, *, ended: bool = False) -> None:
        super().__init__("sign in required")
        self.ended = ended


@dataclass
class Console:
    """The console app's state: the hub, who is signed in, and the masking rules."""

    hub: Hub
    auth: ConsoleAuth
    masking: MaskingRules
    prefix: str = "/console"


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


async def blocking(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a service (blocking I/O) in a worker thread."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))


def client_of(request: Request) -> str:
    return request.client.host if request.client else "-"


def session_of(request: Request) -> Session | None:
    return console_of(request).auth.signer.loads(request.cookies.get(COOKIE))


def admitted(permission: str) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """A page for signed-in users whose role holds `permission` (the API's `area:read` /
    `area:write`); a POST must carry the session's CSRF token. Refusals are audited."""

    def wrap(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(endpoint)
        async def page(request: Request) -> Response:
            console = console_of(request)
            session = session_of(request)
            if session is None or not session.signed_in:
                raise SignInRequired
            try:
                principal = await blocking(console.auth.recheck, session)
            except AuthenticationError as error:
                await deny(request, error, actor=session_actor(session))
                raise SignInRequired(ended=True) from None
            user = User(principal, session)
            request.state.user = user
            request.state.principal = principal  # as the API sets it (its masking reads it)
            if request.method == "POST":
                await check_csrf(request, session, actor=user.actor)
            if not user.may(permission):
                roles = ", ".join(sorted(principal.roles))
                refusal = PermissionDeniedError(f"role {roles} may not {permission}")
                await deny(request, refusal, actor=user.actor)
                raise refusal
            return await endpoint(request, user)

        return page

    return wrap


async def check_csrf(request: Request, session: Session, *, actor: str) -> None:
    """Refuse (403, audited) a POST whose form lacks the session's CSRF token."""
    form = await request.form()
    token = form.get("csrf")
    if not console_of(request).auth.signer.csrf_ok(session, token if isinstance(token, str)
                                                   else None):
        refusal = PermissionDeniedError("the form's CSRF token is missing or wrong: "
                                        "reload the page and try again")
        await deny(request, refusal, actor=actor)
        raise refusal


async def deny(request: Request, error: HubError, *, actor: str) -> None:
    """Audit a refusal as `console.denied` (repeats counted: ConsoleAuth.refuse)."""
    await blocking(console_of(request).auth.refuse, "console.denied",
                   outcome=str(error.http_status), actor=actor,
                   target=f"{request.method} {request.url.path}", reason=str(error),
                   client=client_of(request))


def masked(user: User | None, data: Any, request: Request) -> Any:
    """`data` (a model or plain JSON data) as the API would answer it to `user`: personal
    data masked unless their grants show it (hub.access.masking_rules, the API's rules)."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    if user is not None and user.principal.sees_personal_data:
        return data
    body = orjson.dumps(data)
    changed = console_of(request).masking.masker.mask_body(body)
    return data if changed is None else orjson.loads(changed)


def masked_json(user: User, body: bytes, request: Request) -> Any:
    """A JSON body a service serialized (GET /tickets/{id}'s), masked for `user`, parsed."""
    if not user.principal.sees_personal_data:
        body = console_of(request).masking.masker.mask_body(body) or body
    return orjson.loads(body)


def render(request: Request, template: str, *, status: int = 200,
           session: Session | None = None, **context: Any) -> HTMLResponse:
    """The page `template` in the visitor's language; `session`: a session to set (a new
    anonymous one, or the one sign-in made)."""
    console = console_of(request)
    user: User | None = getattr(request.state, "user", None)
    current = session or (user.session if user else session_of(request))
    language = language_of(request)
    t = Translator(language)
    navigation = [(console.prefix + path, t(label)) for path, label, permission in NAVIGATION
                  if user is not None and user.may(permission)]
    html = _templates.get_template(template).render(
        request=request, t=t, lang=language, languages=LANGUAGES, user=user,
        csrf=console.auth.signer.csrf_token(current) if current else "",
        root=console.prefix, navigation=navigation, here=_here(request, console.prefix),
        when=_when, age=functools.partial(_age, t), **context)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if session is not None:
        session_cookie(request, response, session)
    return response


def session_cookie(request: Request, response: Response, session: Session) -> None:
    """Set the session cookie: HttpOnly (no script reads it), SameSite=Lax (a link to a
    ticket from a DingTalk or WeCom message opens signed in; every change is a POST that
    needs the CSRF token anyway), Secure over https, and ending when the session does (a
    single sign-on session: with the issuer's token)."""
    signer = console_of(request).auth.signer
    response.set_cookie(COOKIE, signer.dumps(session),
                        max_age=max(0, session.expires - int(time.time())),
                        path=console_of(request).prefix, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path=console_of(request).prefix, httponly=True,
                           samesite="lax", secure=request.url.scheme == "https")


def redirect(request: Request, path: str) -> RedirectResponse:
    """303 to a console page (`path` under the console's prefix)."""
    return RedirectResponse(console_of(request).prefix + path, status_code=303,
                            headers={"Cache-Control": "no-store"})


def _here(request: Request, prefix: str) -> str:
    """This page's address under the console's prefix, with its query (a form's way back)."""
    path = request.url.path
    path = path[len(prefix):] if path.startswith(prefix) else path
    query = request.url.query
    return (path or "/") + (f"?{query}" if query else "")


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _when(value: Any) -> str:
    """A moment as the console shows it: UTC, to the second."""
    moment = _parse(value)
    if moment is None:
        return "" if value is None else str(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _age(t: Translator, value: Any) -> str:
    """How long ago `value` was: the freshness of what a system answered."""
    moment = _parse(value)
    if moment is None:
        return ""
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    if seconds < 0:
        return t("age.in_future")
    if seconds < 60:
        return t("age.seconds", n=seconds)
    if seconds < 3600:
        return t("age.minutes", n=seconds // 60)
    if seconds < 86400:
        return t("age.hours", n=seconds // 3600)
    return t("age.days", n=seconds // 86400)
