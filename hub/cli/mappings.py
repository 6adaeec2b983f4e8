"""`hub mappings validate|preview|explain`: the admins' field mappings, checked and shown."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from hub.cli.context import cli_context

if TYPE_CHECKING:
    from hub.runtime import Hub

__all__ = ["app"]

app = typer.Typer(help="Field mappings in mappings/.", no_args_is_help=True)


def _mapping(hub: Hub, name: str) -> Any:
    """The compiled mapping; an unknown name adds a did-you-mean (the API never lists them)."""
    from hub.errors import NotFoundError

    try:
        return hub.mappings.get(name)
    except NotFoundError as exc:
        raise NotFoundError(f"{exc}; {hub.mappings.hint(name)}") from None


@app.command("validate")
def mappings_validate(
    ctx: typer.Context, names: Annotated[list[str] | None, typer.Argument()] = None
) -> None:
    """Compile mappings (all of them by default); errors name file, line and field."""
    from hub.admin.mapping_edits import dropped_fields
    from hub.errors import ConfigFileError

    cli = cli_context(ctx)
    problems: list[Any] = []
    for name in names or cli.hub.mappings.names():
        try:
            mapping = _mapping(cli.hub, name)
        except ConfigFileError as exc:
            problems.extend(exc.problems)
            continue
        dropped = [cli.hub.mappings.problem(name, ("fields", field), message)
                   for field, message in dropped_fields(mapping)]
        if dropped:  # an import would lose these fields' values
            problems.extend(dropped)
            continue
        cli.out.print(Text.assemble(("ok", "green"), f": {name} v{mapping.version} "
                                    f"({len(mapping.fields)} fields)"))
    if problems:
        raise ConfigFileError(problems)


@app.command("preview")
def mappings_preview(
    ctx: typer.Context,
    name: str,
    sample: Annotated[Path | None, typer.Option(
        "--sample", help="An .xlsx or .csv file (read as `hub import` reads it), or JSON, "
                         "JSON Lines or YAML records.")] = None,
    source: Annotated[str | None, typer.Option(
        "--from", help="CONNECTION:STREAM, read live through the connector.")] = None,
    limit: Annotated[int, typer.Option(help="How many records.")] = 20,
    sheet: Annotated[str | None, typer.Option(
        help="Spreadsheet samples: sheet name, or its 0-based index (as `hub import`).")] = None,
    header_row: Annotated[int | None, typer.Option(
        help="Spreadsheet samples: 1-based; found if left out.")] = None,
) -> None:
    """Map sample records and show input beside output, errors highlighted. Writes nothing.
    A spreadsheet sample is read as `hub import` reads it, rows numbered as its error report
    numbers them."""
    from hub.admin.preview import (
        is_spreadsheet,
        load_sample,
        load_table_sample,
        preview,
        read_connection_sample,
    )
    from hub.cli.render.mapping import preview_view
    from hub.errors import InvalidRequestError

    if (sample is None) == (source is None):
        raise InvalidRequestError("give one of --sample FILE or --from CONNECTION:STREAM")
    cli = cli_context(ctx)
    mapping = _mapping(cli.hub, name)
    from hub.admin.mapping_fields import unplaced_fields
    from hub.errors import ConfigFileError

    if unplaced := unplaced_fields(cli.hub, name, mapping):  # as `hub mappings validate`
        raise ConfigFileError(unplaced)
    hub = cli.ready_hub()  # live reads and lookups are audited and read the store
    numbers: list[int] | None = None
    if sample is not None and is_spreadsheet(sample):
        sheet_choice: str | int | None = int(sheet) if sheet and sheet.isdigit() else sheet
        records, numbers, chosen = load_table_sample(sample, mapping, limit=limit,
                                                     sheet=sheet_choice, header_row=header_row)
        if chosen:
            cli.out.print(f"{chosen[:1].upper()}{chosen[1:]}.")
    elif sample is not None:
        records = load_sample(sample, limit=limit)
    else:
        assert source is not None
        records = cli.run(read_connection_sample(hub, source, limit=limit, actor=cli.actor))
    rows = cli.run(preview(hub, mapping, records, actor=cli.actor, numbers=numbers))
    cli.out.print(preview_view(mapping, rows))


@app.command("explain")
def mappings_explain(ctx: typer.Context, name: str, field: str) -> None:
    """How MAPPING produces FIELD (nested fields as `lines.qty`), step by step."""
    from hub.cli.render.mapping import explain_view
    from hub.errors import NotFoundError
    from hub.mapping.explain import explain_field

    cli = cli_context(ctx)
    mapping = _mapping(cli.hub, name)
    try:
        steps = explain_field(mapping.spec, field)
    except KeyError as exc:
        raise NotFoundError(f"mapping '{name}': {exc.args[0]}") from None
    cli.out.print(explain_view(mapping, field, steps))
