"""What every protected route runs before its handler: the caller admitted to the route's
area (security.py: authenticated, and a role holding `area:read` or `area:write`), text the
store cannot hold refused (input_guard.py), then the `Idempotency-Key` claimed for that caller
(middleware.py: the replay is keyed on the caller, so it comes after).

A protected router is made by `admitted_router(area, ...)`; its routes are of the area's
route class, whose handler runs the admission, then the endpoint. FastAPI's own dependency
machinery would do the same for a router dependency at ~8 us a request more, on every call
of every route. Every refusal raises before the request's body is read or its parameters
are validated: an unauthenticated caller learns nothing about what it sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from functools import cache
from typing import Any, ClassVar

from fastapi import APIRouter, Request, Response, params
from fastapi.routing import APIRoute

from .input_guard import refuse_nul_characters, refuse_nul_in_form
from .middleware import idempotent
from .security import require_area

__all__ = ["AdmittedRoute", "admitted_router", "area_of"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


async def _admitted(request: Request) -> None:
    """What runs once a caller is admitted: text the store cannot hold is refused before
    an `Idempotency-Key` is claimed for the request."""
    await refuse_nul_characters(request)
    await idempotent(request)


class AdmittedRoute(APIRoute):
    """A route of a protected area (a subclass per area, `route_class_for`)."""

    area: ClassVar[str]

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().__init__(path, endpoint, **options)
        body = self.body_field
        reads_form = body is not None and isinstance(body.field_info, params.Form)
        if reads_form and refuse_nul_in_form not in {
                dependency.dependency for dependency in self.dependencies}:
            raise TypeError(f"{path}: a route that reads a form takes "
                            "dependencies=[Depends(refuse_nul_in_form)] (input_guard.py)")

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        admit = _admission(self.area)

        async def admitted(request: Request) -> Response:
            await admit(request)
            return await handler(request)

        return admitted


@cache
def _admission(area: str) -> Callable[[Request], Awaitable[object]]:
    return require_area(area, then=_admitted)


@cache
def route_class_for(area: str) -> type[AdmittedRoute]:
    return type(f"{area.title()}Route", (AdmittedRoute,), {"area": area})


def admitted_router(area: str, **options: Any) -> APIRouter:
    """An APIRouter (`options` as APIRouter takes them) whose routes admit only callers whose
    role holds `area`."""
    return APIRouter(route_class=route_class_for(area), **options)


def area_of(route: object) -> str | None:
    """The area a route (an APIRoute, or FastAPI's context of an included one) admits
    callers to; None for an open route."""
    original = getattr(route, "original_route", route)
    return original.area if isinstance(original, AdmittedRoute) else None
