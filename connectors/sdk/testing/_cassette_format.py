"""What a cassette holds, and the redaction and matching rules shared by record and replay."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from .._redact import MASK, Redactor, is_sensitive_name

__all__ = ["Interaction", "MatchKey", "Rules", "decode_body", "describe_key"]

# Header names holding credentials whatever the vendor calls them, beyond SENSITIVE_NAMES.
_SECRET_HEADER_PARTS = ("auth", "token", "secret", "signature", "cookie", "session", "key")
_PLAIN_HEADERS = frozenset({"idempotency-key"})
# Headers that describe one connection or one encoding, not the exchange: never recorded.
_NOISE_HEADERS = frozenset({
    "host", "content-length", "content-encoding", "transfer-encoding", "connection",
    "keep-alive", "accept-encoding", "user-agent", "date", "server",
})

Body = dict[str, Any] | None  # {"json": value} | {"text": str} | {"base64": str} | None
MatchKey = tuple[str, str, tuple[tuple[str, str], ...], str]


@dataclass(slots=True)
class Interaction:
    """One recorded exchange: a redacted request and its response (or transport error)."""

    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: Body = None
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: Body = None
    error: dict[str, str] | None = None  # {"type": "ReadError", "message": "..."}

    def to_json(self) -> dict[str, Any]:
        request = {"method": self.method, "url": self.url, "headers": self.request_headers,
                   "body": self.request_body}
        if self.error is not None:
            return {"request": request, "error": self.error}
        response = {"status": self.status, "headers": [list(h) for h in self.response_headers],
                    "body": self.response_body}
        return {"request": request, "response": response}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interaction:
        request, response = data["request"], data.get("response") or {}
        return cls(
            method=request["method"], url=request["url"],
            request_headers=dict(request.get("headers") or {}),
            request_body=request.get("body"),
            status=response.get("status"),
            response_headers=[(str(k), str(v)) for k, v in response.get("headers") or []],
            response_body=response.get("body"),
            error=data.get("error"),
        )


def decode_body(body: Body) -> bytes:
    """The bytes a stored body stands for."""
    if body is None:
        return b""
    if "json" in body:
        return json.dumps(body["json"], ensure_ascii=False).encode()
    if "text" in body:
        return str(body["text"]).encode()
    return base64.b64decode(body["base64"])


class Rules:
    """How a request is redacted for the file and reduced to a key for matching.

    Args:
        redactor: masks known secret values anywhere in URLs, headers and bodies.
        sensitive_params: query parameter names masked beyond the SDK's SENSITIVE_NAMES.
        sensitive_headers: header names masked beyond the built-in rules.
    """

    def __init__(
        self, redactor: Redactor | None = None, *, sensitive_params: Iterable[str] = (),
        sensitive_headers: Iterable[str] = (),
    ) -> None:
        self.redactor = redactor or Redactor()
        self._params = {p.lower() for p in sensitive_params}
        self._headers = {h.lower() for h in sensitive_headers}

    def secret_param(self, name: str) -> bool:
        return is_sensitive_name(name) or name.lower() in self._params

    def secret_header(self, name: str) -> bool:
        lowered = name.lower()
        if lowered in self._headers or is_sensitive_name(lowered):
            return True
        return lowered not in _PLAIN_HEADERS and any(p in lowered for p in _SECRET_HEADER_PARTS)

    def url(self, url: str) -> str:
        """The URL with sensitive query values masked and known secrets masked anywhere."""
        parts = urlsplit(url)
        pairs = self.query(parts.query)
        query = f"?{urlencode(pairs, safe='*')}" if pairs else ""
        return self.redactor.text(f"{parts.scheme}://{parts.netloc}{parts.path}{query}")

    def query(self, raw: str) -> list[tuple[str, str]]:
        return [(k, MASK if self.secret_param(k) else self.redactor.text(v))
                for k, v in parse_qsl(raw, keep_blank_values=True)]

    def headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        kept = []
        for name, value in headers:
            lowered = name.lower()
            if lowered in _NOISE_HEADERS:
                continue
            kept.append((lowered, MASK if self.secret_header(lowered)
                         else self.redactor.text(value)))
        return kept

    def body(self, content: bytes, content_type: str | None) -> Body:
        if not content:
            return None
        try:
            text = content.decode()
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(content).decode()}
        if "json" in (content_type or "") or text.lstrip()[:1] in ("{", "["):
            try:
                return {"json": self.redactor.mapping(json.loads(text))}
            except ValueError:
                pass
        return {"text": self.redactor.text(text)}

    def record(self, request: httpx.Request) -> Interaction:
        return Interaction(
            method=request.method,
            url=self.url(str(request.url)),
            request_headers=dict(self.headers(request.headers.multi_items())),
            request_body=self.body(request.content, request.headers.get("content-type")),
        )

    def key(self, method: str, url: str, body: Body) -> MatchKey:
        """Method, path, sorted query (sensitive values masked) and canonical body."""
        parts = urlsplit(url)
        query = tuple(sorted(self.query(parts.query)))
        return method.upper(), self.redactor.text(parts.path), query, _canonical(body)

    def request_key(self, request: httpx.Request) -> MatchKey:
        body = self.body(request.content, request.headers.get("content-type"))
        return self.key(request.method, str(request.url), body)


def _canonical(body: Body) -> str:
    if body is None:
        return ""
    if "json" in body:
        return json.dumps(body["json"], sort_keys=True, ensure_ascii=False)
    return str(body.get("text", body.get("base64", "")))


def describe_key(key: MatchKey) -> str:
    method, path, query, body = key
    shown = f"{method} {path}" + (f"?{urlencode(query, safe='*')}" if query else "")
    return f"{shown} body={body[:80]}" if body else shown
