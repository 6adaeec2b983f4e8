"""`hub import FILE --mapping NAME` and `hub import resume|show|list`: Excel and CSV files
imported through a mapping, with a progress bar."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from hub.cli.context import CliContext, cli_context

if TYPE_CHECKING:
    from typer._click.core import Context  # typer 0.28+ carries its own click

__all__ = ["app"]


class _ImportGroup(TyperGroup):
    """`hub import FILE …` runs an import; `hub import resume|show|list` look after them."""

    def resolve_command(self, ctx: Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands:
            args = ["run", *args]
        return super().resolve_command(ctx, args)


app = typer.Typer(cls=_ImportGroup, no_args_is_help=True,
                  help="Import Excel/CSV files through a mapping: "
                       "`hub import FILE --mapping NAME`.")


@contextlib.contextmanager
def _progress(err: Console, name: str) -> Iterator[Callable[[Any], None]]:
    """A bar on stderr (rows, rows/s, time left); yields the pipeline's progress callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}", markup=False), BarColumn(),
               TextColumn("{task.completed:,.0f} rows"),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    # Redrawn at each batch rather than by a refresh thread: a process running one thread
    # only may read and map in a forked worker (hub/importer/batches.py).
    with Progress(*columns, console=err, transient=True, auto_refresh=False) as progress:
        task = progress.add_task(name, total=None, rate="")

        def update(summary: Any) -> None:
            speed = progress.tasks[0].speed
            progress.update(task, completed=summary.read,
                            total=summary.estimated_rows or None,
                            rate=f"{speed:,.0f} rows/s" if speed else "", refresh=True)

        yield update


def _print_import(cli: CliContext, summary: Any) -> None:
    from hub.cli.render.imports import import_summary

    cli.out.print(import_summary(summary))


@app.command("run")
def import_run(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An .xlsx or .csv file.")],
    mapping: Annotated[str, typer.Option("--mapping", "-m", help="A mapping in mappings/.")],
    sheet: Annotated[str | None, typer.Option(help="Sheet name, or its 0-based index.")] = None,
    header_row: Annotated[int | None, typer.Option(help="1-based; found if left out.")] = None,
    encoding: Annotated[str | None, typer.Option(help="CSV encoding; detected.")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter; sniffed.")] = None,
    source: Annotated[str, typer.Option(help="The imported customers' source.")] = "import",
    force: Annotated[bool, typer.Option(help="Import even if this file was imported.")] = False,
) -> None:
    """Import FILE through MAPPING; re-running it resumes an interrupted import."""
    from hub.importer.pipeline import ImportOptions, run_import

    cli = cli_context(ctx)
    hub = cli.ready_hub()
    sheet_choice: str | int | None = int(sheet) if sheet and sheet.isdigit() else sheet
    options = ImportOptions(sheet=sheet_choice, header_row=header_row, encoding=encoding,
                            delimiter=delimiter, source=source)
    with _progress(cli.err, file.name) as progress:
        summary = cli.run(run_import(hub, file, mapping=mapping, options=options, force=force,
                                     actor=cli.actor, progress=progress))
    _print_import(cli, summary)


@app.command("resume")
def import_resume(ctx: typer.Context, import_id: int) -> None:
    """Finish an interrupted import from its last committed batch."""
    from hub.importer.pipeline import get_import, resume_import

    cli = cli_context(ctx)
    hub = cli.ready_hub()
    with _progress(cli.err, get_import(hub, import_id).file_name) as progress:
        summary = cli.run(resume_import(hub, import_id, actor=cli.actor, progress=progress))
    _print_import(cli, summary)


@app.command("show")
def import_show(ctx: typer.Context, import_id: int) -> None:
    """An import's status, counts and report paths."""
    from hub.importer.pipeline import get_import

    cli = cli_context(ctx)
    _print_import(cli, get_import(cli.stored_hub(), import_id))


@app.command("list")
def import_list(ctx: typer.Context, limit: int = 20) -> None:
    """The latest imports."""
    from hub.cli.render.imports import imports_table
    from hub.importer.pipeline import list_imports

    cli = cli_context(ctx)
    cli.out.print(imports_table(list_imports(cli.stored_hub(), limit=limit).items))
