"""Reading what a ticket row stores into the view's shape (view.py), with plain dicts and
no model: both the model path (`TicketPublic.of`) and the agent's click path (`public_json`,
which skips the model) read through it. Rows are never rewritten: what one written by an
earlier version lacks is filled in here, so it reads, and reads alike on both paths.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from pydantic import BaseModel

from hub.tickets.view import (
    EnrichmentSource,
    HistorySummary,
    TicketCustomer,
    TicketHistory,
    TicketResolution,
)

__all__ = ["enrichment_view", "resolution_view"]


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    """The fields of `model` a stored part may lack (written before they existed, or left
    out when empty), with what the answer shows for them (lists as tuples: never shared
    mutable)."""
    found = {name: field.get_default(call_default_factory=True)
             for name, field in model.model_fields.items() if not field.is_required()}
    return {name: tuple(value) if isinstance(value, list) else value
            for name, value in found.items()}


_CUSTOMER_DEFAULTS = _defaults(TicketCustomer)
_SUMMARY_DEFAULTS = _defaults(HistorySummary)
_SOURCE_DEFAULTS = _defaults(EnrichmentSource)
_RESOLUTION_DEFAULTS = _defaults(TicketResolution)
_KINDS = tuple(TicketHistory.model_fields)  # orders, deliveries, interactions
_NONE = object()


def _filled(value: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return value if defaults.keys() <= value.keys() else {**defaults, **value}


def enrichment_view(enrichment: dict[str, Any] | None
                    ) -> tuple[Any, Any, Any, list[dict[str, Any]]]:
    """The stored enrichment as TicketPublic's customer, history, summary and sources.

    Parts missing keys get their defaults; history items get their connection (a system's
    own history carries none until merged with another's: it is then the first source's)
    and that connection's `fetched_at`. The stored dicts are never changed."""
    if not enrichment:
        return None, None, None, []
    sources = [_source_view(entry) if type(entry) is dict else entry
               for entry in enrichment.get("sources") or ()]
    customer = enrichment.get("customer")
    if type(customer) is dict:
        customer = _filled(customer, _CUSTOMER_DEFAULTS)
    summary = enrichment.get("summary")
    if type(summary) is dict:
        summary = _filled(summary, _SUMMARY_DEFAULTS)
    history = enrichment.get("history")
    if type(history) is dict:
        history = _history_view(history, sources)
    return customer, history, summary, sources


def _source_view(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with every field, its instants spelled as the model writes them (UTC as
    `Z`: enrichment wrote `+00:00`)."""
    fetched_at, retry_at = entry.get("fetched_at"), entry.get("retry_at")
    if _SOURCE_DEFAULTS.keys() <= entry.keys() and not _utc_offset(fetched_at) \
            and not _utc_offset(retry_at):
        return entry
    view = {**_SOURCE_DEFAULTS, **entry}
    if _utc_offset(fetched_at):
        view["fetched_at"] = fetched_at[:-6] + "Z"
    if _utc_offset(retry_at):
        view["retry_at"] = retry_at[:-6] + "Z"
    return view


def _utc_offset(value: Any) -> TypeGuard[str]:
    return type(value) is str and value.endswith("+00:00")


def _history_view(history: dict[str, Any], sources: list[Any]) -> dict[str, Any]:
    # What each connection's items are tagged with: its name and when it was read.
    tags = {entry.get("connection"): {"source": entry.get("connection"),
                                      "fetched_at": entry.get("fetched_at")}
            for entry in sources if type(entry) is dict}
    primary = sources[0].get("connection") if sources and type(sources[0]) is dict else None
    # Merged from several systems, an item's `source` names its connection; a single
    # system's items are its own, whatever field of that name they carry.
    merged = len(sources) > 1
    view = dict(history)
    for kind in _KINDS:
        tagged = []
        for item in history.get(kind) or ():
            if type(item) is dict:
                source = (item.get("source") or primary) if merged else primary
                tag = tags.get(source) or {"source": source, "fetched_at": None}
                if item.get("source") != source or \
                        item.get("fetched_at", _NONE) != tag["fetched_at"]:
                    item = item | tag
            tagged.append(item)
        view[kind] = tagged
    return view


def resolution_view(resolution: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored resolution as TicketResolution shows it (`kb_link` null when none)."""
    if type(resolution) is not dict:
        return resolution
    return _filled(resolution, _RESOLUTION_DEFAULTS)
