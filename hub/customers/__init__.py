"""Customers: the store that upserts them and the queries that read them."""

__all__: list[str] = []
