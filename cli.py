"""`hub`: the command line's entry point. It builds the Typer app from the command groups of
`hub/cli/`, gives each run one `CliContext`, and turns every error into one readable line and
an exit code — here, and nowhere else.

Heavy imports (FastAPI, uvicorn, the hub's services) happen inside the commands, so
`import cli` and `hub --help` stay fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from hub.cli import (
    apikeys,
    audit,
    config,
    connectors,
    demo,
    enrich,
    imports,
    jobs,
    kf,
    mappings,
    notify,
    outbox,
    sandbox,
    serve,
    sync,
    tickets,
)
from hub.cli.context import CliContext, cli_context

if TYPE_CHECKING:
    from rich.console import Console
    from typer.exceptions import TyperException

app = typer.Typer(help="Customer-service integration hub.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
for command in (config.doctor, serve.serve, serve.openapi, jobs.scheduler, jobs.worker,
                demo.demo):
    app.command()(command)
for group, name in ((connectors.app, "connectors"), (config.db_app, "db"),
                    (config.config_app, "config"), (mappings.app, "mappings"),
                    (sync.app, "sync"), (tickets.app, "tickets"), (audit.app, "audit"),
                    (notify.app, "notify"), (imports.app, "import"),
                    (outbox.outbox_app, "outbox"), (outbox.dlq_app, "dlq"),
                    (outbox.reconcile_app, "reconcile"), (jobs.jobs_app, "jobs"),
                    (jobs.runs_app, "runs"), (apikeys.app, "apikeys"), (enrich.app, "enrich"),
                    (sandbox.app, "sandbox"), (kf.app, "kf")):
    app.add_typer(group, name=name)


def _print_version(ctx: typer.Context, wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        cli_context(ctx).out.print(f"hub {version('cs-integration-hub')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _hub_options(
    version: Annotated[bool, typer.Option(  # noqa: ARG001 -- read by its callback
        "--version", callback=_print_version, is_eager=True,
        help="Show the hub's version and exit.")] = False,
) -> None:
    """Customer-service integration hub."""


def _error(message: str) -> Text:
    """`error: <message>`, the message as plain text (never read as markup)."""
    return Text.assemble(("error:", "red"), " ", message)


def _show_usage_error(err: Console, exc: TyperException) -> None:
    """One line: what is wrong, and where the help of that command is. `hub` or a group
    given nothing shows its help, as `--help` would."""
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    if isinstance(exc, NoArgsIsHelpError):
        exc.show()
        return
    where = ""
    if isinstance(exc, UsageError) and exc.ctx is not None:
        where = f" (see `{exc.ctx.command_path} --help`)"
    err.print(_error(f"{exc.format_message()}{where}"), highlight=False, soft_wrap=True)


def _run(context: CliContext, argv: list[str] | None) -> int:
    """Run one command line; every error becomes one readable line and an exit code."""
    from typer.exceptions import TyperException

    from connectors.sdk import ConnectorError
    from hub.errors import HubError

    err = context.err
    try:
        result = app(args=argv, prog_name="hub", standalone_mode=False, obj=context)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("aborted")
        return 1
    except TyperException as exc:  # typer's usage errors (its own copy of click's)
        _show_usage_error(err, exc)
        return exc.exit_code
    except HubError as exc:
        err.print(_error(str(exc)), highlight=False, soft_wrap=True)
        return exc.exit_code
    except ConnectorError as exc:
        err.print(_error(str(exc)), highlight=False, soft_wrap=True)
        return 5
    return result if isinstance(result, int) else 0


def main(argv: list[str] | None = None) -> int:
    """The `hub` console script: one `CliContext` for the run, closed at its end."""
    context = CliContext()
    try:
        return _run(context, argv)
    finally:
        context.close()


if __name__ == "__main__":
    sys.exit(main())
