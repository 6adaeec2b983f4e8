"""The operations console: server-rendered pages for the people who run the hub, served by
`hub serve` under /console on the services the API calls (../shared/DESIGN.md, Console)."""

from .app import PREFIX, create_console

__all__ = ["PREFIX", "create_console"]
