"""Vendor connectors: the SDK they are built on, and one package per vendor."""
