"""Sign-in with an API key, sign-out, and the language switch."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.errors import AuthenticationError, PermissionDeniedError

from ..messages import LANGUAGE_COOKIE, LANGUAGES
from ..web import (
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
        return "/tickets"
    return text


async def home(request: Request) -> Response:
    return redirect(request, "/tickets")


async def signin_page(request: Request) -> Response:
    session = session_of(request)
    fresh = None
    if session is None:  # an anonymous session: the sign-in form's CSRF token is bound to it
        session = fresh = console_of(request).auth.signer.new()
    elif session.signed_in:
        return redirect(request, "/tickets")
    return render(request, "signin.html", session=fresh or session,
                  next=_next_page(request.query_params.get("next")),
                  ended=request.query_params.get("ended") == "1")


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
                      error=str(error), ended=False)
    response = redirect(request, next_page)
    session_cookie(request, response, signed_in)
    return response


async def signout(request: Request) -> Response:
    console = console_of(request)
    session = session_of(request)
    if session is not None:
        actor = f"console:apikey:{session.key_prefix}" if session.signed_in else "anonymous"
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
    actor = f"console:apikey:{session.key_prefix}" if session.signed_in else "anonymous"
    await check_csrf(request, session, actor=actor)
    form = await request.form()
    chosen = form.get("lang")
    response = redirect(request, _next_page(form.get("next")))
    if isinstance(chosen, str) and chosen in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400,
                            path=console_of(request).prefix, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
    return response


routes = [
    Route("/", home),
    Route("/signin", signin_page, methods=["GET"]),
    Route("/signin", signin, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
    Route("/language", language, methods=["POST"]),
]
