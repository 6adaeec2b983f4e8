"""Declarative REST connector: streams and actions described in YAML, no Python."""
