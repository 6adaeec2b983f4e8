"""Field-level masking of personal data in every JSON response, by the caller's grants.

A pure ASGI middleware: it holds the response start, and when the caller (the Principal in
`scope["state"]`, set by `require_area`) may not see personal data, it rewrites a one-piece
`application/json` or `application/problem+json` body through the `api.masking` rules of
hub.yaml and fixes Content-Length. A caller with no Principal at all (open routes, errors
before authentication) is masked too: unmasked data needs a positive grant. Streamed and
encoded bodies pass unchanged; a body is only parsed when a configured field name occurs in
it as a key.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.config import MaskingSpec
from hub.errors import ConfigFileError
from hub.field_masking import FieldMasker
from hub.runtime import Hub

from .principal import Principal

log = logging.getLogger("hub.api")

__all__ = ["MaskingMiddleware", "install_masking"]

_JSON_TYPES = (b"application/json", b"application/problem+json")


def install_masking(app: FastAPI, hub: Hub) -> None:
    app.add_middleware(MaskingMiddleware, hub=hub)


def _sees_personal_data(scope: Scope) -> bool:
    principal = (scope.get("state") or {}).get("principal")
    return isinstance(principal, Principal) and principal.sees_personal_data


def _maskable(headers: list[tuple[bytes, bytes]]) -> bool:
    content_type = b""
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-encoding" and value.strip().lower() not in (b"", b"identity"):
            return False
        if lower == b"content-type":
            content_type = value.split(b";", 1)[0].strip().lower()
    return content_type in _JSON_TYPES


class MaskingMiddleware:
    def __init__(self, app: ASGIApp, *, hub: Hub | None = None,
                 masker: FieldMasker | None = None) -> None:
        self.app = app
        self._hub = hub
        self._masker = masker

    @property
    def masker(self) -> FieldMasker:
        # Built on first use: the config is loaded lazily, and once per process. A config
        # that does not load (a variable unset) must not unmask anything: the default rules
        # apply until it does.
        if self._masker is None:
            if self._hub is None:
                return FieldMasker(MaskingSpec().by_kind())
            try:
                rules = self._hub.config.hub.api.masking.by_kind()
            except ConfigFileError as exc:
                log.warning("masking with the default rules: the config does not load: %s",
                            exc)
                return FieldMasker(MaskingSpec().by_kind())
            self._masker = FieldMasker(rules)
        return self._masker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        passthrough = False

        async def send_masked(message: Message) -> None:
            nonlocal start, passthrough
            if passthrough:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if _sees_personal_data(scope) or not _maskable(headers):
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
            masked = self.masker.mask_body(body)
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
