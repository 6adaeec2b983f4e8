"""Masking of personal data in every response, by the caller's grants.

A pure ASGI middleware: it holds the response start, and when the caller (the Principal in
`scope["state"]`, set by `require_area`) may not see personal data, it rewrites a one-piece
`application/json` or `application/problem+json` body through hub.field_masking (the
`api.masking` rules of hub.yaml, names that look personal, personal values in any string),
masks personal values in a one-piece `text/plain` or `text/csv` body, and fixes
Content-Length. A caller with no Principal at all (open routes, errors before
authentication) is masked too: unmasked data needs a positive grant. Streamed and encoded
bodies pass unchanged (a route that streams personal data masks it itself: see
hub.api.masked_downloads); a body is only parsed when something personal may be in it. The
API's own description (/openapi.json, /docs, /redoc) and the answers to vendors' webhook
calls are never rewritten.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.access.masking import FieldMasker, mask_personal_text
from hub.access.masking_rules import MaskingRules
from hub.runtime import Hub

from .principal import Principal

__all__ = ["MaskingMiddleware", "MaskingRules", "install_masking", "sees_personal_data"]

_JSON_TYPES = (b"application/json", b"application/problem+json")
_TEXT_TYPES = (b"text/plain", b"text/csv")
# Never rewritten: the API's description (its examples are data about the API, and must
# stay valid) and the protocol answers to vendors' webhook calls.
_UNTOUCHED_PATHS = ("/openapi.json", "/docs", "/redoc")
_UNTOUCHED_PREFIXES = ("/docs/", "/webhooks/")


def install_masking(app: FastAPI, hub: Hub) -> None:
    app.state.masking = rules = MaskingRules(hub)
    app.add_middleware(MaskingMiddleware, rules=rules)


def sees_personal_data(scope: Scope) -> bool:
    """Whether the caller of this request (its ASGI scope) may see personal data."""
    principal = (scope.get("state") or {}).get("principal")
    return isinstance(principal, Principal) and principal.sees_personal_data


def _media_type(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The body's media type when it is one we mask (None: pass it unchanged)."""
    content_type = b""
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-encoding" and value.strip().lower() not in (b"", b"identity"):
            return None
        if lower == b"content-type":
            content_type = value.split(b";", 1)[0].strip().lower()
    return content_type if content_type in _JSON_TYPES + _TEXT_TYPES else None


def _untouched(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return path in _UNTOUCHED_PATHS or path.startswith(_UNTOUCHED_PREFIXES)


def _masked_text(masker: FieldMasker, body: bytes) -> bytes | None:
    if not masker.may_apply(body):
        return None
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    masked = mask_personal_text(text)
    return masked.encode() if masked != text else None


class MaskingMiddleware:
    def __init__(self, app: ASGIApp, *, hub: Hub | None = None,
                 masker: FieldMasker | None = None, rules: MaskingRules | None = None) -> None:
        self.app = app
        self._rules = rules or MaskingRules(hub, masker=masker)

    @property
    def masker(self) -> FieldMasker:
        return self._rules.masker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _untouched(scope):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        passthrough = False
        media_type: bytes | None = None

        async def send_masked(message: Message) -> None:
            nonlocal start, passthrough, media_type
            if passthrough:
                await send(message)
                return
            if message["type"] == "http.response.start":
                if sees_personal_data(scope) or (
                        media_type := _media_type(list(message.get("headers", [])))) is None:
                    passthrough = True
                    await send(message)
                else:
                    start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            held, start = start, None
            if message.get("more_body", False):  # streamed: not ours to buffer
                passthrough = True
                await send(held)
                await send(message)
                return
            body: bytes = message.get("body", b"")
            masker = self.masker
            masked = (masker.mask_body(body) if media_type in _JSON_TYPES
                      else _masked_text(masker, body))
            if masked is not None:
                held = _with_length(held, len(masked))
                message = {**message, "body": masked}
            await send(held)
            await send(message)

        await self.app(scope, receive, send_masked)


def _with_length(start: Message, length: int) -> Message:
    headers: list[Any] = [(name, value) for name, value in start.get("headers", [])
                          if name.lower() != b"content-length"]
    headers.append((b"content-length", str(length).encode()))
    return {**start, "headers": headers}
