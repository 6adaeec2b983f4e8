"""Foundations every layer may use: settings, logging, JSON/time helpers, cursors and pages,
the safe YAML loader. Imports nothing above the error tree."""

__all__: list[str] = []
