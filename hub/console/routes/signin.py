"""Sign-in with an API key, sign-out, and the language switch."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hub.errors import AuthenticationError, NotFoundError, PermissionDeniedError

from ..auth import session_actor
from ..messages import LANGUAGE_COOKIE, LANGUAGES
from ..web import (
    SignInRequired,
    blocking,
    check_csrf,
    clear_session,
    client_of,
    console_of,
    deny,
    redirect,
    render,
    session_cookie,
    session_of,
)

__all__ = ["routes"]


def _next_page(value: object) -> str:
    """Where to go after signing in: a console page, never another site."""
    text = value if isinstance(value, str) else ""
    if not text.startswith("/") or text.startswith("//") or "\\" in text or "\n" in text:
        return "/"  # the landing page of the person's role
    return text


async def home(request: Request) -> Response:
    """The landing page by role: the dashboard for those who may see it (runs:read, as
    GET /reports/dashboard), else the tickets (agents)."""
    session = session_of(request)
    if session is None or not session.signed_in:
        raise SignInRequired
    try:
        principal = await blocking(console_of(request).auth.recheck, session)
    except AuthenticationError as error:
        await deny(request, error, actor=session_actor(session))
        raise SignInRequired(ended=True) from None
    return redirect(request, "/dashboard" if principal.may("runs:read") else "/tickets")


async def signin_page(request: Request) -> Response:
    session = session_of(request)
    fresh = None
    if session is None:  # an anonymous session: the sign-in form's CSRF token is bound to it
        session = fresh = console_of(request).auth.signer.new()
    elif session.signed_in:
        return redirect(request, "/")
    return render(request, "signin.html", session=fresh or session,
                  next=_next_page(request.query_params.get("next")),
                  ended=request.query_params.get("ended") == "1",
                  oidc=console_of(request).auth.oidc.enabled)


async def signin(request: Request) -> Response:
    console = console_of(request)
    session = session_of(request)
    if session is None:
        refusal = PermissionDeniedError("the sign-in form has expired: reload the page")
        await deny(request, refusal, actor="anonymous")
        raise refusal
    await check_csrf(request, session, actor="anonymous")
    form = await request.form()
    key, next_page = form.get("api_key"), _next_page(form.get("next"))
    try:
        _principal, signed_in = await blocking(
            console.auth.sign_in, key if isinstance(key, str) else "",
            client=client_of(request))
    except AuthenticationError as error:
        return render(request, "signin.html", status=401, session=session, next=next_page,
                      error=str(error), ended=False, oidc=console.auth.oidc.enabled)
    response = redirect(request, next_page)
    session_cookie(request, response, signed_in)
    return response


async def signout(request: Request) -> Response:
    console = console_of(request)
    session = session_of(request)
    if session is not None:
        actor = session_actor(session)
        await check_csrf(request, session, actor=actor)
        if session.signed_in:
            await blocking(console.auth.record, "console.signout", actor=actor,
                           detail={"client": client_of(request)})
    response = redirect(request, "/signin")
    clear_session(request, response)
    return response


async def language(request: Request) -> Response:
    """Switch the console's language (a cookie; without it, Accept-Language decides)."""
    session = session_of(request)
    if session is None:
        refusal = PermissionDeniedError("the form has expired: reload the page")
        await deny(request, refusal, actor="anonymous")
        raise refusal
    await check_csrf(request, session, actor=session_actor(session))
    form = await request.form()
    chosen = form.get("lang")
    response = redirect(request, _next_page(form.get("next")))
    if isinstance(chosen, str) and chosen in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400,
                            path=console_of(request).prefix, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
    return response


OIDC_COOKIE = "hub_console_oidc"
OIDC_SECONDS = 600  # to sign in at the issuer


def _callback_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}{console_of(request).prefix}" \
           "/signin/oidc/callback"


async def oidc_start(request: Request) -> Response:
    """Send the browser to the issuer; its state, PKCE verifier and the page to return to
    are kept in a signed cookie for the round trip (SameSite=Lax: the issuer's redirect
    back is a top-level navigation from its site)."""
    oidc = console_of(request).auth.oidc
    if not oidc.enabled:
        raise NotFoundError("single sign-on is not configured (HUB_OIDC_CLIENT_ID)")
    start = await oidc.start(_callback_url(request))
    response = RedirectResponse(start.url, status_code=303,
                                headers={"Cache-Control": "no-store"})
    sealed = console_of(request).auth.signer.seal("oidc", {
        "state": start.state, "verifier": start.verifier,
        "next": _next_page(request.query_params.get("next"))}, seconds=OIDC_SECONDS)
    response.set_cookie(OIDC_COOKIE, sealed, max_age=OIDC_SECONDS,
                        path=f"{console_of(request).prefix}/signin/oidc", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")
    return response


async def oidc_callback(request: Request) -> Response:
    console = console_of(request)
    if not console.auth.oidc.enabled:
        raise NotFoundError("single sign-on is not configured (HUB_OIDC_CLIENT_ID)")
    kept = console.auth.signer.unseal("oidc", request.cookies.get(OIDC_COOKIE))
    state = request.query_params.get("state", "")
    if kept is None or not hmac.compare_digest(str(kept.get("state")), state):
        refusal = PermissionDeniedError("the sign-in came back without its state: "
                                        "start again")
        await deny(request, refusal, actor="anonymous")
        raise refusal
    code = request.query_params.get("code")
    try:
        if not code:
            raise AuthenticationError("the issuer did not sign you in: "
                                      f"{request.query_params.get('error', 'no code')}"[:200])
        principal, ends = await console.auth.oidc.finish(
            code=code, verifier=str(kept["verifier"]), redirect_uri=_callback_url(request))
    except (AuthenticationError, PermissionDeniedError) as error:
        await blocking(console.auth.refuse, "console.signin", actor="anonymous",
                       outcome=str(error.http_status), target="GET /console/signin/oidc",
                       reason=str(error), client=client_of(request))
        fresh = console.auth.signer.new()
        return render(request, "signin.html", status=error.http_status, session=fresh,
                      next=str(kept.get("next") or "/"), error=str(error),
                      ended=False, oidc=True)
    session = await blocking(console.auth.sign_in_token, principal, token_expires=ends,
                             client=client_of(request))
    response = redirect(request, _next_page(kept.get("next")))
    session_cookie(request, response, session)
    response.delete_cookie(OIDC_COOKIE, path=f"{console.prefix}/signin/oidc", httponly=True,
                           samesite="lax", secure=request.url.scheme == "https")
    return response


routes = [
    Route("/signin/oidc", oidc_start, methods=["GET"]),
    Route("/signin/oidc/callback", oidc_callback, methods=["GET"]),
    Route("/", home),
    Route("/signin", signin_page, methods=["GET"]),
    Route("/signin", signin, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
    Route("/language", language, methods=["POST"]),
]
