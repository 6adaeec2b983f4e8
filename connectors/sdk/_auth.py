"""httpx.Auth flows for the simple schemes; their reprs never show the secret."""

from __future__ import annotations

from collections.abc import Generator

import httpx
from pydantic import SecretStr

__all__ = ["ApiKeyAuth", "BearerAuth"]


class ApiKeyAuth(httpx.Auth):
    """Sends an API key in a header (default `X-API-Key`)."""

    def __init__(self, key: SecretStr, *, header: str = "X-API-Key") -> None:
        self._key = key
        self._header = header

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._key.get_secret_value()
        yield request

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={self._header!r}, key=***)"


class BearerAuth(httpx.Auth):
    """Sends `Authorization: Bearer <token>`."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"
