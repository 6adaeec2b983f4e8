"""The `hub` command line: command groups and terminal views (render/)."""

__all__: list[str] = []
