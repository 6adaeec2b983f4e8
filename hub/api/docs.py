"""The interactive API docs, served offline (STUB: FastAPI's defaults)."""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["install_docs"]


def install_docs(app: FastAPI) -> None:  # noqa: ARG001 -- stub
    return None
