"""Field names as masking rules read them: normalised (`contactPhone`, `Contact-Phone` and
`CONTACT_PHONE` are one name), and each listed under one kind only. Both the API's masker
(hub.access.masking) and hub.yaml's `api.masking` (hub.config) use these."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["kinds_by_field", "normalise_field_name"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[\s\-./:]+")


def normalise_field_name(name: str) -> str:
    """`contactPhone`, `Contact-Phone` and `CONTACT_PHONE` → `contact_phone`."""
    return _SEPARATORS.sub("_", _CAMEL.sub("_", name.strip())).lower().strip("_")


def kinds_by_field(fields_by_kind: Mapping[str, list[str]]) -> dict[str, str]:
    """Each normalised field name with its kind; ValueError when a name (however it is
    written) is listed under two kinds."""
    kinds: dict[str, str] = {}
    for kind, names in fields_by_kind.items():
        for name in names:
            key = normalise_field_name(name)
            if kinds.setdefault(key, kind) != kind:
                raise ValueError(f"field '{name}' is listed under both {kinds[key]} and {kind}")
    return kinds
