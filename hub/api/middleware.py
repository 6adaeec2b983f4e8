"""Request size limits, CORS and Idempotency-Key handling (STUB: none yet)."""

from __future__ import annotations

from fastapi import FastAPI

from hub.runtime import Hub

__all__ = ["install_middleware"]


def install_middleware(app: FastAPI, hub: Hub) -> None:  # noqa: ARG001 -- stub
    return None
