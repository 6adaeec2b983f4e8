"""The one place hub errors become HTTP responses (problem+json)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hub.errors import HubError

__all__ = ["install_error_handlers"]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HubError)
    async def _hub_error(_request: Request, exc: HubError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.http_status,
            media_type="application/problem+json",
            content={"type": type(exc).__name__, "title": str(exc).split("\n", 1)[0],
                     "status": exc.http_status, "detail": str(exc)},
        )
