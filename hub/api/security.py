"""Authentication (API keys, OAuth2 bearer JWTs) and per-area authorization.

STUB until the auth work lands: every request is an admin. `require_area(area)` is the
dependency each router is included with (see app.py); it must set
`request.state.principal` to the caller's Principal.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from .principal import Principal

__all__ = ["require_area"]

_STUB = Principal(subject="stub", roles=frozenset({"admin"}))


def require_area(area: str) -> Callable[[Request], Principal]:
    def dependency(request: Request) -> Principal:
        request.state.principal = _STUB
        return _STUB

    dependency.__name__ = f"require_{area}"
    return dependency
