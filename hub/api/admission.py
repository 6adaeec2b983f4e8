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

import inspect
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
        admit = _admission(self.area)
        endpoint = _request_only(self)
        if endpoint is not None:
            # An endpoint that reads the request itself: FastAPI would parse the query, the
            # headers and the cookies into parameters it has none of, on every call.
            async def admitted_raw(request: Request) -> Response:
                await admit(request)
                response = await endpoint(request)
                if not isinstance(response, Response):
                    raise TypeError(f"{self.path}: a request-only endpoint returns a Response")
                return response

            return admitted_raw
        handler = super().get_route_handler()

        async def admitted(request: Request) -> Response:
            await admit(request)
            return await handler(request)

        return admitted


def _request_only(route: APIRoute) -> Callable[[Request], Awaitable[Any]] | None:
    """The endpoint, when its one parameter is the Request and nothing else is solved for it
    (no path, query, header, cookie or body parameters, no dependencies); None otherwise."""
    dependant = route.dependant
    if dependant.request_param_name is None or not inspect.iscoroutinefunction(route.endpoint):
        return None
    if (dependant.path_params or dependant.query_params or dependant.header_params
            or dependant.cookie_params or dependant.body_params or dependant.dependencies
            or dependant.response_param_name or dependant.background_tasks_param_name
            or dependant.http_connection_param_name or dependant.security_scopes_param_name):
        return None
    if len(inspect.signature(route.endpoint).parameters) != 1:
        return None
    return route.endpoint  # type: ignore[no-any-return]


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
