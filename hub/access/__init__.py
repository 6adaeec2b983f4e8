"""Who may do what: API keys, roles, field masking."""

__all__: list[str] = []
