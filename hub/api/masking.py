"""Field-level masking of personal data in every JSON response (STUB: masks nothing yet)."""

from __future__ import annotations

from fastapi import FastAPI

from hub.runtime import Hub

__all__ = ["install_masking"]


def install_masking(app: FastAPI, hub: Hub) -> None:  # noqa: ARG001 -- stub
    return None
