"""A ticket's history drawn from several systems, as one: each list (orders, interactions,
deliveries…) is the systems' lists one after another, the primary's first, each item tagged
with the connection it came from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["merge_histories"]


def merge_histories(parts: Sequence[tuple[str, dict[str, Any] | None]]
                    ) -> dict[str, Any] | None:
    """`parts`: (connection, history) in order, the job's own connection first.

    Items that are objects get `source: <connection>` (overriding a field of that name);
    other items are kept as they are. A value that is not a list is kept from the primary
    only: a further system's own customer number is in its `sources` entry instead.
    None when no system gave any history.
    """
    merged: dict[str, Any] | None = None
    for index, (connection, history) in enumerate(parts):
        if history is None:
            continue
        merged = {} if merged is None else merged
        for key, value in history.items():
            if isinstance(value, list):
                items = merged.setdefault(key, [])
                if isinstance(items, list):
                    items.extend(_tagged(item, connection) for item in value)
            elif index == 0:
                merged[key] = value
    return merged


def _tagged(item: Any, connection: str) -> Any:
    return {**item, "source": connection} if isinstance(item, dict) else item
