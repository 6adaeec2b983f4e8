"""Declarative REST connector: streams and actions described in YAML, no Python."""

from .connector import RestConnector
from .spec import RestConfig

__all__ = ["RestConfig", "RestConnector"]
