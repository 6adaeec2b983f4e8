"""The demo's last section: how to open the operations console on the demo's data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from hub.access.apikeys import create_key
from hub.runtime import Hub

__all__ = ["console_section"]


def console_section(console: Console, hub: Hub, workdir: Path, project_root: Path) -> None:
    """An admin key made in the demo's store, and the command that serves the console on
    it (the demo's sandboxes stop with the demo; the console reads what they left)."""
    key = create_key(hub, name="demo console", role="admin", actor="demo",
                     expires_at=datetime.now(UTC) + timedelta(days=1))
    store = f"sqlite:///{workdir / 'hub.db'}"
    console.print("Open the operations console on the demo's data (tickets, write-backs, "
                  "dead letters, jobs and runs), in the browser:")
    console.print(f"  cd {escape(str(project_root))}")
    console.print(f"  HUB_DATABASE_URL={escape(store)} hub serve")
    console.print("  then http://127.0.0.1:8000/console — sign in with this API key "
                  "(role admin, valid one day, shown once):")
    console.print(f"  [bold]{escape(key.key)}[/]")
