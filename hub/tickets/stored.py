"""Reading what a ticket row stores of its resolution into the view's shape (view.py), with
plain dicts and no model, on both the model path and the click path; its enrichment reads
through hub/enrichment/stored.py."""

from __future__ import annotations

from typing import Any

from hub.enrichment.stored import filled, model_defaults
from hub.tickets.view import TicketResolution

__all__ = ["resolution_view"]

_RESOLUTION_DEFAULTS = model_defaults(TicketResolution)


def resolution_view(resolution: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored resolution as TicketResolution shows it (`kb_link` null when none)."""
    if type(resolution) is not dict:
        return resolution
    return filled(resolution, _RESOLUTION_DEFAULTS)
