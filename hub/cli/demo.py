"""`hub demo`: the whole hub on embedded defaults, in the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli.context import cli_context

__all__ = ["demo"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # configs/ and mappings/ live there


def demo(
    ctx: typer.Context,
    customers: Annotated[int, typer.Option(help="Customers in the CRM sandbox.")] = 300,
) -> None:
    """Run the whole hub on embedded defaults: CRM sandbox, fresh SQLite, pull, tickets."""
    from rich.console import Console

    from hub.demo import run_demo

    # The demo's sections style their lines with markup (escaping what they interpolate), so
    # it prints on a markup console of its own, to the same stream as the CLI's results.
    console = Console(file=cli_context(ctx).out.file)
    run_demo(console, customers=customers, project_root=PROJECT_ROOT)
