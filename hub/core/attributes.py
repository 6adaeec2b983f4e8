"""A mapped record's attributes: its fields that are not columns of what it lands in.

A mapping keeps a field in a record's attributes by writing it `attributes.<name>` (an
unknown name is refused when the mapping loads: hub/ingest/targets.py); the mapping engine
builds that as a nested `attributes` object, lifted here into the attributes themselves,
where it stands among the record's fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ATTRIBUTES_KEY", "kept_attributes"]

ATTRIBUTES_KEY = "attributes"


def kept_attributes(entity: Mapping[str, Any], skip: frozenset[str]) -> dict[str, Any]:
    """`entity`'s fields not in `skip`, with its `attributes` object's fields in its place."""
    kept: dict[str, Any] = {}
    for key, value in entity.items():
        if key == ATTRIBUTES_KEY and isinstance(value, dict):
            kept.update(value)
        elif key not in skip:
            kept[key] = value
    return kept
