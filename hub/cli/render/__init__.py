"""Terminal views (rich) of tickets, runs, the outbox and mappings."""

__all__: list[str] = []
