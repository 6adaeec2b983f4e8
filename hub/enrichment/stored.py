"""Reading what a ticket row stores of its enrichment into the view's shape (view.py), with
plain dicts and no model: both the model path (`TicketPublic.of`) and the agent's click path
(hub/tickets/reader.py, which skips the model) read through it. Rows are never rewritten:
what one written by an earlier version lacks is filled in here, so it reads, and reads alike
on both paths. The pipeline writes new rows in that shape already (`stored_enrichment`).
"""

from __future__ import annotations

from typing import Any, TypeGuard

from pydantic import BaseModel

from hub.enrichment.view import EnrichmentSource, HistorySummary, TicketCustomer, TicketHistory

__all__ = ["VIEW_MARK", "enrichment_view", "filled", "model_defaults", "stored_enrichment"]


def model_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """The fields of `model` a stored part may lack (written before they existed, or left
    out when empty), with what the answer shows for them (lists as tuples: never shared
    mutable)."""
    found = {name: field.get_default(call_default_factory=True)
             for name, field in model.model_fields.items() if not field.is_required()}
    return {name: tuple(value) if isinstance(value, list) else value
            for name, value in found.items()}


_CUSTOMER_DEFAULTS = model_defaults(TicketCustomer)
_SUMMARY_DEFAULTS = model_defaults(HistorySummary)
_SOURCE_DEFAULTS = model_defaults(EnrichmentSource)
_KINDS = tuple(TicketHistory.model_fields)  # orders, deliveries, interactions
_NONE = object()


def filled(value: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return value if defaults.keys() <= value.keys() else {**defaults, **value}


# The last key of an enrichment stored in the view's shape (`stored_enrichment`).
VIEW_MARK = "view"
_VIEW_PARTS = ("customer", "history", "summary", "sources")


def stored_enrichment(enrichment: dict[str, Any]) -> dict[str, Any]:
    """The enrichment as a ticket row stores it: its four parts already in the view's shape
    (what `enrichment_view` would make of them), in the answer's order, then `VIEW_MARK`.
    A reader of the row as text can then put the parts into the answer as they are
    (hub/tickets/reader.py); `enrichment_view` reads it as any other."""
    return {**dict(zip(_VIEW_PARTS, enrichment_view(enrichment), strict=True)), VIEW_MARK: 1}


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
        customer = filled(customer, _CUSTOMER_DEFAULTS)
    summary = enrichment.get("summary")
    if type(summary) is dict:
        summary = filled(summary, _SUMMARY_DEFAULTS)
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
