"""Finding connectors: the built-in ones and plugins of the `hub.connectors` entry-point group."""

from ._registry import ENTRY_POINT_GROUP, ConnectorInfo, available_connectors, load_connector

__all__ = ["ConnectorInfo", "ENTRY_POINT_GROUP", "available_connectors", "load_connector"]
