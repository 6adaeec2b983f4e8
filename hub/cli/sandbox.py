"""`hub sandbox up`: the built-in vendor sandboxes in the foreground, for running the hub
yourself on the shipped configs/hub.yaml (README, "Run it yourself")."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.context import cli_context
from hub.errors import InvalidRequestError

if TYPE_CHECKING:
    from rich.console import Console

    from hub.demo.sandboxes import RunningSandbox

__all__ = ["app"]

app = typer.Typer(help="The built-in vendor sandboxes, for trying the hub.",
                  no_args_is_help=True)


@app.command("up")
def sandbox_up(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(
        help="crm, kb (confluence), kingdee, yonyou, dingtalk, wecom; none: all.")] = None,
    port_offset: Annotated[int, typer.Option(
        help="Listen on hub.yaml's ports plus this (8765+N …); then set the variables "
             "printed.")] = 0,
    free_ports: Annotated[bool, typer.Option(
        help="Listen on free ephemeral ports instead; then set the variables printed.")] = False,
    env_file: Annotated[Path | None, typer.Option(
        help="Also write VARIABLE=URL lines pointing hub.yaml at the sandboxes here.")] = None,
) -> None:
    """Serve the sandboxes hub.yaml's defaults point at, print each one's address and test
    credentials, and keep serving until Ctrl-C."""
    from hub.demo.sandboxes import resolve_names, serve_sandboxes

    cli = cli_context(ctx)
    try:
        sandboxes = resolve_names(names or [])
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with serve_sandboxes(sandboxes, port_offset=None if free_ports else port_offset) \
                as running:
            _announce(cli.out, running, env_file)
            _wait(stop)
    except OSError as exc:
        raise InvalidRequestError(f"a sandbox port is taken ({exc.strerror}): stop what holds it, "
                          "or pass --port-offset N or --free-ports") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    cli.err.print("sandboxes stopped")


def _wait(stop: threading.Event) -> None:
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


def _announce(out: Console, running: list[RunningSandbox], env_file: Path | None) -> None:
    for item in running:
        credentials = "  ".join(f"{key}: {value}"
                                for key, value in item.sandbox.credentials.items())
        out.print(f"{item.sandbox.name:<9}{item.url}  {credentials}", highlight=False,
                  soft_wrap=True)
    moved = [f"{item.sandbox.variable}={item.url}" for item in running if item.moved]
    if moved:
        out.print("hub.yaml reads these, set them where the hub runs:", highlight=False)
        for line in moved:
            out.print(f"  export {line}", highlight=False, soft_wrap=True)
    if env_file is not None:
        env_file.write_text("".join(f"{item.sandbox.variable}={item.url}\n"
                                    for item in running), encoding="utf-8")
    out.print("These are the sandboxes' own test credentials (hub.yaml's defaults), never "
              "production ones. Ctrl-C stops them.", highlight=False, soft_wrap=True)
    out.file.flush()
