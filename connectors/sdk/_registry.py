"""Discovery of connectors through the `hub.connectors` entry-point group."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from ._connector import Connector
from ._errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "ConnectorInfo", "available_connectors", "load_connector"]

ENTRY_POINT_GROUP = "hub.connectors"

# Classes loaded so far, by name: finding the entry points reads every installed
# distribution's metadata (~1 ms), and the hub asks for a connector on every call it makes.
# A name not found is looked for again next time (a plugin installed meanwhile).
_loaded: dict[str, type[Connector[Any]]] = {}


@dataclass(frozen=True, slots=True)
class ConnectorInfo:
    name: str
    target: str
    distribution: str | None


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_connectors() -> list[ConnectorInfo]:
    """Every registered connector, built-in or third-party, by name."""
    return [
        ConnectorInfo(ep.name, ep.value, ep.dist.name if ep.dist else None)
        for ep in sorted(_entry_points().values(), key=lambda ep: ep.name)
    ]


def load_connector(name: str) -> type[Connector[Any]]:
    """The connector class registered under `name`; the error lists the known names."""
    if (known_class := _loaded.get(name)) is not None:
        return known_class
    points = _entry_points()
    if name not in points:
        known = ", ".join(sorted(points)) or "none (is the hub installed with pip?)"
        raise ConfigError(f"unknown connector type '{name}'; registered: {known}")
    loaded = points[name].load()
    if not (isinstance(loaded, type) and issubclass(loaded, Connector)):
        raise ConfigError(
            f"entry point '{name}' ({points[name].value}) is not a Connector subclass"
        )
    _loaded[name] = loaded
    return loaded
