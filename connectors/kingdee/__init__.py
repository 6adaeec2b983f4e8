"""Kingdee K/3 Cloud (金蝶云星空) WebAPI connector and its sandbox."""

__all__: list[str] = []
