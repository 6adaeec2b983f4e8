"""One `CliContext` per run of `hub`: the settings, the Hub (made once, when a command first
needs it), the consoles and who acts. Typer hands it to each command as `ctx.obj`.

Nothing heavy is imported here at module level, so `import cli` stays light.
"""

from __future__ import annotations

import functools
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from hub.core.settings import Settings
    from hub.runtime import Hub

__all__ = ["CliContext", "cli_context"]

T = TypeVar("T")


def _stdout_console() -> Console:
    return Console(markup=False)


def _stderr_console() -> Console:
    return Console(stderr=True, markup=False)


@dataclass
class CliContext:
    """What every command of one run shares. `out` is stdout (results), `err` is stderr
    (progress, warnings, errors).

    Neither console reads markup: vendor and user text (a vendor message holding `[/…]`, a
    file name, a customer's name) prints as itself, never as a style tag or a crash. Styled
    output is built as `rich.text.Text` (`Text.assemble`, `Text.from_markup` of our own
    constant strings)."""

    out: Console = field(default_factory=_stdout_console)
    err: Console = field(default_factory=_stderr_console)

    @functools.cached_property
    def settings(self) -> Settings:
        from hub.core.settings import get_settings

        return get_settings()

    @functools.cached_property
    def hub(self) -> Hub:
        """The Hub on these settings, made on first use (`hub connectors list` needs none)."""
        from hub.core.tracing import configure_tracing
        from hub.runtime import Hub

        hub = Hub(self.settings)
        configure_tracing(redactor=hub.redactor)  # on only when OTEL_* variables ask for it
        return hub

    def ready_hub(self) -> Hub:
        """The Hub with its store created or migrated to the latest revision."""
        self.hub.upgrade_db()
        return self.hub

    def stored_hub(self, *, migrate: bool = True) -> Hub:
        """The Hub on a store that exists (migrated to the latest revision), for commands
        that only read: where there is no store yet they say so, and where they looked,
        and never make one."""
        from hub.errors import NotFoundError

        if not self.hub.store.exists():
            raise NotFoundError(f"no store yet at {self.hub.store.shown} (HUB_DATABASE_URL, "
                                "resolved against this directory): run `hub db "
                                "upgrade` to create it")
        return self.ready_hub() if migrate else self.hub

    @functools.cached_property
    def actor(self) -> str:
        """Who the audit rows name: `cli:<user>`, or `cli` where there is no user name."""
        import getpass

        try:
            return f"cli:{getpass.getuser()}"
        except Exception:  # noqa: BLE001 -- no user name on some containers
            return "cli"

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one coroutine to its end (a command's async service call)."""
        import asyncio

        return asyncio.run(coro)

    def close(self) -> None:
        """Release the store's connections, if a command opened them."""
        if "hub" in self.__dict__:
            self.hub.close()


def cli_context(ctx: typer.Context) -> CliContext:
    """The run's context (made here when the app is invoked without `cli.main`)."""
    return ctx.ensure_object(CliContext)
