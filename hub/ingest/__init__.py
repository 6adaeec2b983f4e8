"""What pulls and imports share: the target registry and lookups."""

__all__: list[str] = []
