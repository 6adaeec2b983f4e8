"""`hub`: the command line. Thin: it parses, calls the same services the API calls, prints.

Heavy imports (FastAPI, uvicorn, the hub's services) happen inside the commands, so
`import cli` and `hub --help` stay fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer.exceptions import TyperException

    from hub.runtime import Hub

app = typer.Typer(help="Customer-service integration hub.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
connectors_app = typer.Typer(help="Connector plugins.", no_args_is_help=True)
db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)
config_app = typer.Typer(help="configs/hub.yaml.", no_args_is_help=True)
mappings_app = typer.Typer(help="Field mappings in mappings/.", no_args_is_help=True)
sync_app = typer.Typer(help="Pull jobs.", no_args_is_help=True)
tickets_app = typer.Typer(help="Tickets, enriched with the customer's history.",
                          no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
notify_app = typer.Typer(help="Notify rules (DingTalk, WeCom).", no_args_is_help=True)
outbox_app = typer.Typer(help="Write-backs owed to the ERP and the KB, sent exactly once.",
                         no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: write-backs that failed for good; replayable.",
                      no_args_is_help=True)
jobs_app = typer.Typer(help="The jobs of hub.yaml and how each last ran.",
                       no_args_is_help=True)
runs_app = typer.Typer(help="Run history: every execution of a job, with its counts.",
                       no_args_is_help=True)
reconcile_app = typer.Typer(help="Compare the hub's write-backs with the vendor systems.",
                            no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys for the REST API (shown once, stored hashed).",
                          no_args_is_help=True)
enrich_app = typer.Typer(help="The enrichment queue: tickets waiting for, or retrying, their "
                         "customer's history.", no_args_is_help=True)


class _ImportGroup(TyperGroup):
    """`hub import FILE …` runs an import; `hub import resume|show|list` look after them."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands:
            args = ["run", *args]
        return super().resolve_command(ctx, args)


import_app = typer.Typer(cls=_ImportGroup, no_args_is_help=True,
                         help="Import Excel/CSV files through a mapping: "
                              "`hub import FILE --mapping NAME`.")
for sub, name in ((connectors_app, "connectors"), (db_app, "db"), (config_app, "config"),
                  (mappings_app, "mappings"), (sync_app, "sync"), (tickets_app, "tickets"),
                  (audit_app, "audit"), (notify_app, "notify"), (import_app, "import"),
                  (outbox_app, "outbox"), (dlq_app, "dlq"), (reconcile_app, "reconcile"),
                  (jobs_app, "jobs"), (runs_app, "runs"),
                  (apikeys_app, "apikeys"), (enrich_app, "enrich")):
    app.add_typer(sub, name=name)

out = Console()
err = Console(stderr=True)


def _hub() -> Hub:
    from hub.core.settings import get_settings
    from hub.runtime import Hub

    return Hub(get_settings())


def _run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


@connectors_app.command("list")
def connectors_list() -> None:
    """Connectors registered under the `hub.connectors` entry-point group."""
    from rich.table import Table

    from connectors.sdk.registry import available_connectors, load_connector

    table = Table("name", "class", "package", "title", "streams")
    for info in available_connectors():
        connector = load_connector(info.name)
        table.add_row(info.name, info.target, info.distribution or "", connector.title,
                      ", ".join(sorted(connector.streams)))
    out.print(table)


@connectors_app.command("new")
def connectors_new(
    name: str,
    dest: Annotated[Path, typer.Option(help="Folder to create the plugin in.")] = Path("."),
) -> None:
    """Scaffold a connector plugin package that installs and passes its own tests."""
    from hub.admin.scaffold import create_plugin

    path = create_plugin(name, dest)
    out.print(f"created {path}\n  pip install -e {path} && pytest {path}")


@connectors_app.command("spec")
def connectors_spec(name: str) -> None:
    """The JSON Schema of a connector's connection config (secrets marked writeOnly)."""
    import json

    from connectors.sdk.registry import load_connector

    schema = load_connector(name).Config.model_json_schema()
    out.print_json(json.dumps(schema, ensure_ascii=False))


@connectors_app.command("check")
def connectors_check(
    connection: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Probe a configured connection: reachable, authenticated, permitted, latency."""
    import json
    from dataclasses import asdict

    from rich.table import Table

    hub = _hub()
    hub.upgrade_db()  # the probe's calls are audited

    async def probe() -> Any:
        async with hub.connector(connection, actor=_cli_actor()) as connector:
            return await connector.check()

    result = _run(probe())
    if as_json:
        out.print_json(json.dumps({"connection": connection, "ok": result.ok,
                                   **asdict(result)}, ensure_ascii=False))
    else:
        table = Table("check", "result", title=f"connection {connection}",
                      title_justify="left")
        for step in ("reachable", "authenticated", "permitted"):
            good = getattr(result, step)
            table.add_row(step, "[green]yes[/]" if good else "[red]no[/]")
        table.add_row("latency", f"{result.latency_ms} ms" if result.latency_ms else "—")
        if result.detail:
            table.add_row("detail", escape(result.detail))
        out.print(table)
    if not result.ok:
        raise typer.Exit(5)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store's schema to the latest revision."""
    from hub.store.migrate import current_revision

    hub = _hub()
    hub.upgrade_db()
    out.print(f"schema at revision {current_revision(hub.engine)}")


@config_app.command("validate")
def config_validate() -> None:
    """Check hub.yaml, its connections' configs and the mappings its jobs use."""
    hub = _hub()
    config = hub.config
    for job in config.hub.jobs.values():
        if (mapping := getattr(job, "mapping", None)) is not None:
            hub.mappings.get(mapping)
    out.print(f"[green]ok[/]: {config.path} — {len(config.hub.connections)} connections, "
              f"{len(config.hub.jobs)} jobs, {len(config.hub.webhooks)} webhooks, "
              f"{len(config.hub.rules)} rules")


def _mapping(hub: Hub, name: str) -> Any:
    """The compiled mapping; an unknown name adds a did-you-mean (the API never lists them)."""
    from hub.errors import NotFoundError

    try:
        return hub.mappings.get(name)
    except NotFoundError as exc:
        raise NotFoundError(f"{exc}; {hub.mappings.hint(name)}") from None


@mappings_app.command("validate")
def mappings_validate(names: Annotated[list[str] | None, typer.Argument()] = None) -> None:
    """Compile mappings (all of them by default); errors name file, line and field."""
    from hub.errors import ConfigFileError

    hub = _hub()
    problems: list[Any] = []
    for name in names or hub.mappings.names():
        try:
            mapping = _mapping(hub, name)
        except ConfigFileError as exc:
            problems.extend(exc.problems)
            continue
        out.print(f"[green]ok[/]: {name} v{mapping.version} ({len(mapping.fields)} fields)")
    if problems:
        raise ConfigFileError(problems)


@mappings_app.command("preview")
def mappings_preview(
    name: str,
    sample: Annotated[Path | None, typer.Option(
        "--sample", help="A JSON, JSON Lines, CSV or YAML file of records.")] = None,
    source: Annotated[str | None, typer.Option(
        "--from", help="CONNECTION:STREAM, read live through the connector.")] = None,
    limit: Annotated[int, typer.Option(help="How many records.")] = 20,
) -> None:
    """Map sample records and show input beside output, errors highlighted. Writes nothing."""
    from hub.admin.preview import load_sample, preview, read_connection_sample
    from hub.cli.render.mapping import preview_view
    from hub.errors import InvalidRequestError

    if (sample is None) == (source is None):
        raise InvalidRequestError("give one of --sample FILE or --from CONNECTION:STREAM")
    hub = _hub()
    mapping = _mapping(hub, name)
    hub.upgrade_db()  # live reads and lookups are audited and read the store
    if sample is not None:
        records = load_sample(sample, limit=limit)
    else:
        assert source is not None
        records = _run(read_connection_sample(hub, source, limit=limit, actor=_cli_actor()))
    rows = _run(preview(hub, mapping, records, actor=_cli_actor()))
    out.print(preview_view(mapping, rows))


@mappings_app.command("explain")
def mappings_explain(name: str, field: str) -> None:
    """How MAPPING produces FIELD (nested fields as `lines.qty`), step by step."""
    from hub.cli.render.mapping import explain_view
    from hub.errors import NotFoundError
    from hub.mapping.explain import explain_field

    mapping = _mapping(_hub(), name)
    try:
        steps = explain_field(mapping.spec, field)
    except KeyError as exc:
        raise NotFoundError(f"mapping '{name}': {exc.args[0]}") from None
    out.print(explain_view(mapping, field, steps))


@sync_app.command("run")
def sync_run(job: str) -> None:
    """Run a pull job to the end of its stream, resuming from the last committed page."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from hub.cli.render.tickets import run_summary
    from hub.core.logs import configure_logging
    from hub.sync import RunSummary, run_pull

    hub = _hub()
    configure_logging(hub.settings, redactor=hub.redactor)
    hub.upgrade_db()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(f"{job}: starting")

        def progress(s: RunSummary) -> None:
            waited = f", {s.budget_wait_ms / 1000:.1f}s waiting on the rate budget" \
                if s.budget_wait_ms else ""
            bar.update(task, description=f"{job}: {s.read} read, {s.created} new, "
                       f"{s.updated} updated, {s.rejected} rejected{waited}")

        summary = _run(run_pull(hub, job, progress=progress))
    out.print(run_summary(summary))


@tickets_app.command("create")
def tickets_create(
    subject: Annotated[str, typer.Option(help="One line: what is wrong.")],
    description: Annotated[str, typer.Option()] = "",
    mobile: Annotated[str | None, typer.Option(help="The customer's mobile.")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option(help="The contact's name.")] = None,
    channel: Annotated[str, typer.Option()] = "phone",
) -> None:
    """Create a ticket and show it enriched with the customer's profile and history."""
    from pydantic import ValidationError

    from hub.cli.render.tickets import ticket_panel
    from hub.errors import InvalidRequestError
    from hub.tickets import TicketCreate, create_ticket

    try:
        data = TicketCreate(subject=subject, description=description, mobile=mobile,
                            email=email, contact_name=name, channel=channel)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise InvalidRequestError("; ".join(
            f"--{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())) from None
    hub = _hub()
    hub.upgrade_db()
    out.print(ticket_panel(_run(create_ticket(hub, data, actor=_cli_actor()))))


@tickets_app.command("show")
def tickets_show(ticket_id: int) -> None:
    """Show one ticket with its enrichment."""
    from hub.cli.render.tickets import ticket_panel
    from hub.tickets import get_ticket

    out.print(ticket_panel(get_ticket(_hub(), ticket_id)))


@tickets_app.command("list")
def tickets_list(limit: int = 20) -> None:
    """The newest tickets."""
    from hub.cli.render.tickets import tickets_table
    from hub.tickets import list_tickets

    out.print(tickets_table(list_tickets(_hub(), limit=limit)))


@tickets_app.command("resolve")
def tickets_resolve(
    ticket_id: int,
    note: Annotated[str | None, typer.Option(help="What was done.")] = None,
    refund: Annotated[str | None, typer.Option(help="Refund amount, e.g. 88.50.")] = None,
    method: Annotated[str, typer.Option(help="Refund method: wire or cash.")] = "wire",
    part: Annotated[list[str] | None, typer.Option(
        help="A spare part used, MATERIAL:QTY (repeatable).")] = None,
    customer_number: Annotated[str | None, typer.Option(
        help="The customer's number in the ERP.")] = None,
    file: Annotated[Path | None, typer.Option(
        help="A JSON resolution (note, refund, parts, solution) instead of the flags.")] = None,
) -> None:
    """Resolve a ticket; its refund, parts and reusable solution go to the outbox."""
    import json

    from pydantic import ValidationError

    from hub.cli.render.tickets import ticket_panel
    from hub.errors import InvalidRequestError
    from hub.outbox import Resolution
    from hub.tickets import get_ticket
    from hub.tickets.resolve import resolve_ticket

    data: dict[str, Any] = json.loads(file.read_text("utf-8")) if file else {}
    if note:
        data["note"] = note
    if customer_number:
        data["customer_number"] = customer_number
    if refund:
        data["refund"] = {"amount": refund, "method": method}
    for item in part or []:
        material, _, qty = item.rpartition(":")
        if not material:
            raise InvalidRequestError(f"--part '{item}': give MATERIAL:QTY, e.g. P-1001:2")
        data.setdefault("parts", []).append({"material": material, "qty": qty})
    try:
        resolution = Resolution.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequestError("; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'resolution'}: {e['msg']}"
            for e in exc.errors())) from None
    hub = _hub()
    hub.upgrade_db()
    resolve_ticket(hub, ticket_id, resolution, actor=_cli_actor())
    out.print(ticket_panel(get_ticket(hub, ticket_id)))


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending, done or dead.")] = None,
    ticket: Annotated[int | None, typer.Option(help="Only this ticket's rows.")] = None,
    limit: int = 50,
) -> None:
    """The newest outbox rows: what is owed, what was written (with the vendor's number)."""
    from hub.cli.render.outbox import outbox_table
    from hub.outbox.views import list_rows, outbox_depth

    hub = _hub()
    hub.upgrade_db()
    depth = outbox_depth(hub)
    out.print(outbox_table(list_rows(hub, status=status, ticket_id=ticket, limit=limit),
                           title="Outbox — " + ", ".join(f"{n} {k}" for k, n in depth.items())))


@outbox_app.command("dispatch")
def outbox_dispatch(
    concurrency: Annotated[int, typer.Option(min=1, max=256,
                                             help="Writes in flight at once.")] = 8,
    mode: Annotated[str, typer.Option(
        help="drain: until nothing is pending (waits out backoffs); due: only what is due "
             "now; forever: keep polling (stop with Ctrl-C, which finishes what is in "
             "flight).")] = "drain",
    lease: Annotated[float, typer.Option(help="Lease seconds per claimed row.")] = 60.0,
) -> None:
    """Send due outbox rows through their connections, exactly once."""
    import asyncio
    import signal

    from hub.cli.render.outbox import dispatch_summary
    from hub.errors import InvalidRequestError
    from hub.outbox import Dispatcher, DispatchOptions

    if mode not in ("drain", "due", "forever"):
        raise InvalidRequestError(f"--mode {mode}: choose drain, due or forever")
    hub = _hub()
    hub.upgrade_db()
    dispatcher = Dispatcher(hub, options=DispatchOptions(
        concurrency=concurrency, mode=mode, lease_seconds=lease))

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, dispatcher.stop)
        return await dispatcher.run()

    summary = asyncio.run(main())
    out.print(dispatch_summary(summary))
    if summary.dead:
        raise typer.Exit(4)


@dlq_app.command("list")
def dlq_list(limit: int = 50) -> None:
    """Dead letters, with the reason each failed (the vendor's field and message)."""
    from hub.cli.render.outbox import outbox_table
    from hub.outbox.views import list_rows

    hub = _hub()
    hub.upgrade_db()
    out.print(outbox_table(list_rows(hub, status="dead", limit=limit), title="Dead letters"))


@dlq_app.command("replay")
def dlq_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
) -> None:
    """Put dead letters back in the outbox (after fixing the cause); the next dispatch
    completes each once, resuming at the step that failed."""
    from hub.errors import InvalidRequestError
    from hub.outbox.views import replay_dead_letters

    if bool(ids) == all_:
        raise InvalidRequestError("give dead letter ids or --all")
    hub = _hub()
    hub.upgrade_db()
    replayed = replay_dead_letters(hub, None if all_ else ids, actor=_cli_actor())
    out.print(f"replayed {len(replayed)} dead letters"
              + (f": {', '.join(map(str, replayed))}" if replayed else "")
              + ("; run `hub outbox dispatch` to send them" if replayed else ""))


@reconcile_app.command("erp")
def reconcile_erp(
    since: Annotated[str, typer.Option(help="A date (2026-11-01) or ISO date-time.")],
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
) -> None:
    """Compare resolved tickets' write-backs with the ERP's bills; exits 1 on any finding
    (missing, duplicate, mismatched, unexpected, not written)."""
    from datetime import UTC, datetime

    from hub.cli.render.outbox import reconcile_view
    from hub.errors import InvalidRequestError
    from hub.outbox.reconcile import reconcile

    try:
        start = datetime.fromisoformat(since)
    except ValueError:
        raise InvalidRequestError(f"--since {since}: not a date or ISO date-time") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    hub = _hub()
    hub.upgrade_db()
    report = _run(reconcile(hub, since=start, connection=connection))
    out.print(reconcile_view(report))
    if not report.ok:
        raise typer.Exit(1)


@jobs_app.command("list")
def jobs_list() -> None:
    """Every configured job: kind, connection, and its last run's status and times."""
    from hub.cli.render.runs import jobs_table
    from hub.jobs.run_queries import list_jobs

    hub = _hub()
    hub.upgrade_db()
    out.print(jobs_table(list_jobs(hub)))


@jobs_app.command("pause")
def jobs_pause(job: str) -> None:
    """Stop a job's timetable (a run under way finishes; `hub jobs trigger` still runs it)."""
    from hub.scheduler.control import pause

    hub = _hub()
    hub.upgrade_db()
    changed = pause(hub, job, actor="cli")
    out.print(f"{job}: paused" if changed else f"{job}: was paused already")


@jobs_app.command("resume")
def jobs_resume(job: str) -> None:
    """Put a paused job back on its timetable, from now (missed times are not made up)."""
    from hub.scheduler.control import resume

    hub = _hub()
    hub.upgrade_db()
    changed = resume(hub, job, actor="cli")
    out.print(f"{job}: resumed" if changed else f"{job}: was not paused")


@jobs_app.command("trigger")
def jobs_trigger(
    job: str,
    here: Annotated[bool, typer.Option(
        "--here", help="Run it in this process now, instead of asking the scheduler.")] = False,
) -> None:
    """Run a job now: the running scheduler starts it at its next tick (within a second),
    or, with --here, this command runs it to the end."""
    hub = _hub()
    hub.upgrade_db()
    if here:
        from hub.scheduler.run import run_job

        outcome = _run(run_job(hub, job, trigger="manual"))
        out.print(f"{job}: run {outcome.run_id} {outcome.status} {outcome.detail}")
        return
    from hub.scheduler.control import request_run

    request_run(hub, job, actor="cli")
    out.print(f"{job}: asked for; the scheduler runs it at its next tick "
              "(see `hub jobs list`, `hub runs list --job " + job + "`)")


@enrich_app.command("drain")
def enrich_drain(
    limit: Annotated[int, typer.Option(help="Tickets to take in this pass.", min=1)] = 100,
    concurrency: Annotated[int | None, typer.Option(
        help="Tickets at once (default: the enrich job's concurrency).", min=1)] = None,
) -> None:
    """Enrich the tickets due in the queue (new ones, and partial ones due a retry): one
    pass; `hub scheduler` does this on the enrich job's schedule."""
    from hub.enrichment import drain_enrichment, enrich_job
    from hub.notify.engine import evaluate_enriched

    hub = _hub()
    hub.upgrade_db()
    found = enrich_job(hub)
    result = _run(drain_enrichment(hub, limit=limit, concurrency=concurrency or (
        found[1].concurrency if found else 8), then=evaluate_enriched))
    out.print(f"claimed {result.claimed}: enriched {result.enriched}, not found "
              f"{result.not_found}, partial {result.partial} (retried {result.retried}, "
              f"failed {result.failed}), lost {result.lost}")


@runs_app.command("list")
def runs_list(
    job: Annotated[str | None, typer.Option(help="Only this job's runs.")] = None,
    status: Annotated[str | None, typer.Option(
        help="running, succeeded, partial, failed or interrupted.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """The newest runs with their counts (what `GET /runs` answers)."""
    from hub.cli.render.runs import runs_table
    from hub.jobs.run_queries import list_runs

    hub = _hub()
    hub.upgrade_db()
    out.print(runs_table(list_runs(hub, job=job, status=status, limit=limit).items))


@runs_app.command("show")
def runs_show(run_id: int) -> None:
    """One run: timing, counts, retries, and the records it rejected with why."""
    from hub.cli.render.runs import run_panel
    from hub.jobs.run_queries import get_run

    hub = _hub()
    hub.upgrade_db()
    out.print(run_panel(get_run(hub, run_id)))


@audit_app.command("tail")
def audit_tail(n: Annotated[int, typer.Option("-n", help="How many rows.")] = 20) -> None:
    """The newest audit rows."""
    from hub.cli.render.tickets import audit_table

    out.print(audit_table(_hub().audit.tail(n)))


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the keyed chain, its signed head and the checkpoints kept outside the store;
    exits 1 and names the first bad row if anything was altered or removed."""
    result = _hub().audit.verify()
    if not result.ok:
        err.print(f"[red]audit chain broken[/] after {result.checked} good rows:",
                  escape(result.problem or ""), soft_wrap=True)
        raise typer.Exit(1)
    out.print(f"[green]ok[/]: {result.checked} audit rows, chain intact, "
              f"{result.checkpoints} checkpoints matched")
    if result.unkeyed:
        err.print(f"[yellow]warning[/]: rows 1-{result.unkeyed} are unkeyed (written before "
                  "the chain was keyed): anyone who can write the database could have "
                  "rewritten them", soft_wrap=True)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Append a signed checkpoint of the chain's head to the checkpoint file (writers also
    do so every HUB_AUDIT_CHECKPOINT_SECONDS); rows removed after it are then detected."""
    point = _hub().audit.checkpoint()
    if point is None:
        out.print("nothing to checkpoint: no keyed audit rows, or HUB_AUDIT_CHECKPOINTS empty")
        return
    out.print(f"checkpoint: row {point.seq} at {point.at}")


@import_app.command("run")
def import_run(
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

    hub = _hub()
    hub.upgrade_db()
    sheet_choice: str | int | None = int(sheet) if sheet and sheet.isdigit() else sheet
    options = ImportOptions(sheet=sheet_choice, header_row=header_row, encoding=encoding,
                            delimiter=delimiter, source=source)
    with _import_progress(file.name) as progress:
        summary = _run(run_import(hub, file, mapping=mapping, options=options, force=force,
                                  actor=_cli_actor(), progress=progress))
    _print_import(summary)


@import_app.command("resume")
def import_resume(import_id: int) -> None:
    """Finish an interrupted import from its last committed batch."""
    from hub.importer.pipeline import get_import, resume_import

    hub = _hub()
    hub.upgrade_db()
    with _import_progress(get_import(hub, import_id).file_name) as progress:
        summary = _run(resume_import(hub, import_id, actor=_cli_actor(), progress=progress))
    _print_import(summary)


@import_app.command("show")
def import_show(import_id: int) -> None:
    """An import's status, counts and report paths."""
    from hub.importer.pipeline import get_import

    hub = _hub()
    hub.upgrade_db()
    _print_import(get_import(hub, import_id))


@import_app.command("list")
def import_list(limit: int = 20) -> None:
    """The latest imports."""
    from hub.cli.render.tickets import imports_table
    from hub.importer.pipeline import list_imports

    hub = _hub()
    hub.upgrade_db()
    out.print(imports_table(list_imports(hub, limit=limit)))


def _import_progress(name: str) -> Any:
    import contextlib

    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    @contextlib.contextmanager
    def bar() -> Any:
        columns = (TextColumn("{task.description}"), BarColumn(),
                   TextColumn("{task.completed:,.0f} rows"),
                   TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task(name, total=None, rate="")

            def update(summary: Any) -> None:
                speed = progress.tasks[0].speed
                progress.update(task, completed=summary.read,
                                total=summary.estimated_rows or None,
                                rate=f"{speed:,.0f} rows/s" if speed else "")

            yield update

    return bar()


def _print_import(summary: Any) -> None:
    from hub.cli.render.tickets import import_summary

    out.print(import_summary(summary))


@notify_app.command("check-overdue")
def notify_check_overdue() -> None:
    """Follow pending sends up, then fire the SLA rules (age_hours …) on open tickets."""
    from hub.cli.render.tickets import notify_summary
    from hub.notify.engine import check_overdue

    hub = _hub()
    try:
        hub.upgrade_db()
        out.print(notify_summary(_run(check_overdue(hub, actor=_cli_actor()))))
    finally:
        hub.close()


@apikeys_app.command("create")
def apikeys_create(
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    role: Annotated[str, typer.Option(help="agent, integrator or admin.")],
    scope: Annotated[list[str] | None, typer.Option(help="An extra grant, e.g. pii; "
                                                         "repeatable.")] = None,
    expires: Annotated[str | None, typer.Option(help="90d, 12h, 30m, 2w or a date "
                                                     "(2027-01-01); none: never.")] = None,
) -> None:
    """Make an API key and print it — the only time it is shown."""
    from hub.access.apikeys import create_key, parse_expiry

    hub = _hub()
    hub.upgrade_db()
    expires_at = parse_expiry(expires) if expires else None
    created = create_key(hub, name=name, role=role, scopes=tuple(scope or ()),
                         expires_at=expires_at, actor=_cli_actor())
    info = created.info
    err.print(f"API key [bold]{escape(info.prefix)}[/] ({escape(info.name)}, role "
              f"{info.role}, expires {info.expires_at.isoformat() if info.expires_at else 'never'})"
              " — store it now, it is not shown again:", soft_wrap=True, highlight=False)
    out.print(created.key, soft_wrap=True, highlight=False, markup=False)


@apikeys_app.command("list")
def apikeys_list() -> None:
    """Every API key: prefix, name, role, scopes, expiry, revocation, last use (no secrets)."""
    from rich.table import Table

    from hub.access.apikeys import list_keys

    hub = _hub()
    hub.upgrade_db()
    table = Table("prefix", "name", "role", "scopes", "created", "expires", "revoked",
                  "last used")

    def when(at: Any) -> str:
        return at.strftime("%Y-%m-%d %H:%M") if at else "-"

    for key in list_keys(hub):
        table.add_row(key.prefix, escape(key.name), key.role, ",".join(key.scopes) or "-",
                      when(key.created_at), when(key.expires_at), when(key.revoked_at),
                      when(key.last_used_at))
    out.print(table)


@apikeys_app.command("revoke")
def apikeys_revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix.")]) -> None:
    """Revoke a key; running API processes refuse it within their key cache (30 s)."""
    from hub.access.apikeys import revoke_key

    hub = _hub()
    hub.upgrade_db()
    info = revoke_key(hub, prefix, actor=_cli_actor())
    out.print(f"revoked API key {escape(info.prefix)} ({escape(info.name)})")


@app.command()
def doctor() -> None:
    """Check the config, the store, Redis (if used) and every connection; say what is wrong
    in plain words. Exits 2 when the config or its mappings do not load, 1 when anything
    else is wrong."""
    from rich.table import Table

    from hub.admin.doctor import diagnose

    hub = _hub()
    findings = _run(diagnose(hub, actor=_cli_actor()))
    config_loads = all(finding.ok for finding in findings if finding.area == "config")
    table = Table("", "check", "finding", box=None, show_header=False)
    for finding in findings:
        table.add_row("[green]ok[/]" if finding.ok else "[red]!![/]", finding.area,
                      escape(finding.message))
    out.print(table)
    if not config_loads:
        raise typer.Exit(2)  # as `hub config validate`
    if not all(finding.ok for finding in findings):
        raise typer.Exit(1)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the REST API on the configured store."""
    import uvicorn

    from hub.api import create_app
    from hub.core.logs import configure_logging
    from hub.core.settings import get_settings

    settings = get_settings()
    api = create_app(settings)
    api.state.hub.config  # noqa: B018 -- a config that does not load stops here, exit 2
    configure_logging(settings, redactor=api.state.hub.redactor)
    uvicorn.run(api, host=host, port=port, log_config=None)  # uvicorn logs through ours


@app.command()
def scheduler(
    executor: Annotated[str, typer.Option(
        help="local: run jobs in this process (asyncio); celery: send them to `hub worker`s "
             "through HUB_BROKER_URL.")] = "local",
    tick: Annotated[float, typer.Option(help="Seconds between looks at the timetable.",
                                        min=0.05)] = 1.0,
    grace: Annotated[float, typer.Option(
        help="On SIGTERM/SIGINT, seconds to let running jobs reach a checkpoint.")] = 30.0,
) -> None:
    """Run hub.yaml's jobs on their timetables until stopped (SIGTERM or Ctrl-C: running
    jobs stop at their next checkpoint and resume on the next run)."""
    import asyncio
    import signal

    from hub.core.logs import configure_logging
    from hub.errors import InvalidRequestError
    from hub.scheduler.scheduler import Executor, Scheduler

    hub = _hub()
    configure_logging(hub.settings, redactor=hub.redactor)
    hub.upgrade_db()
    hub.config  # noqa: B018 -- a broken hub.yaml stops here, with file and line
    chosen: Executor
    if executor == "local":
        from hub.scheduler.local import LocalExecutor

        chosen = LocalExecutor(hub)
    elif executor == "celery":
        from hub.scheduler.celery_app import CeleryExecutor, make_app

        chosen = CeleryExecutor(hub, make_app(hub.settings))
    else:
        raise InvalidRequestError(f"--executor {executor}: use local or celery")
    _serve_metrics(hub)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        err.print(f"scheduler: {executor} executor, {len(hub.config.hub.jobs)} jobs; "
                  "SIGTERM or Ctrl-C stops it")
        await Scheduler(hub, chosen, tick_seconds=tick).run(stop, grace=grace)

    asyncio.run(main())


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(
        help="Tasks at once (0: one per CPU).", min=0)] = 0,
    pool: Annotated[str, typer.Option(
        help="Celery pool: prefork (processes), threads, or solo (one task, this process).")
    ] = "prefork",
    name: Annotated[str | None, typer.Option(help="The worker's node name.")] = None,
) -> None:
    """A Celery worker running the hub's jobs (pull parts, write-backs, enrichment) sent
    by `hub scheduler --executor celery`; the broker is HUB_BROKER_URL, the store must be
    PostgreSQL (or another database every worker reaches)."""
    import os
    import socket
    import tempfile

    if pool == "prefork" and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # The forked children's vendor calls reach the metrics port through this folder
        # (set before prometheus_client is first imported).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hub-metrics-")

    from hub.core.logs import configure_logging
    from hub.scheduler.celery_app import make_app

    hub = _hub()
    configure_logging(hub.settings, redactor=hub.redactor)
    hub.upgrade_db()
    hub.config  # noqa: B018 -- a broken hub.yaml stops here, with file and line
    _serve_metrics(hub)
    celery = make_app(hub.settings)
    node = name or f"hub-{os.getpid()}@{socket.gethostname()}"
    celery.worker_main(["worker", f"--concurrency={concurrency or os.cpu_count() or 1}",
                        f"--pool={pool}", f"--loglevel={hub.settings.log_level}",
                        "-Q", hub.settings.celery_queue,
                        "-n", node,
                        "--without-gossip", "--without-mingle"])


def _serve_metrics(hub: Hub) -> None:
    port = hub.settings.metrics_port
    if port:
        from hub.admin.metrics import start_metrics_server

        start_metrics_server(hub, port)
        err.print(f"metrics on http://0.0.0.0:{port}/metrics")


@app.command()
def demo(customers: Annotated[int, typer.Option(help="Customers in the CRM sandbox.")] = 300
         ) -> None:
    """Run the whole hub on embedded defaults: CRM sandbox, fresh SQLite, pull, tickets."""
    from hub.demo import run_demo

    run_demo(out, customers=customers, project_root=Path(__file__).resolve().parent)


def _cli_actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 -- no user name on some containers
        return "cli"


def _print_version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        out.print(f"hub {version('cs-integration-hub')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _hub_options(
    version: Annotated[bool, typer.Option(  # noqa: ARG001 -- read by its callback
        "--version", callback=_print_version, is_eager=True,
        help="Show the hub's version and exit.")] = False,
) -> None:
    """Customer-service integration hub."""


def _show_usage_error(exc: TyperException) -> None:
    """One line: what is wrong, and where the help of that command is. `hub` or a group
    given nothing shows its help, as `--help` would."""
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    if isinstance(exc, NoArgsIsHelpError):
        exc.show()
        return
    where = ""
    if isinstance(exc, UsageError) and exc.ctx is not None:
        where = f" (see `{exc.ctx.command_path} --help`)"
    err.print("[red]error:[/]", escape(f"{exc.format_message()}{where}"), highlight=False,
              soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    """The `hub` console script: every error becomes one readable line and an exit code."""
    from typer.exceptions import TyperException

    from connectors.sdk import ConnectorError
    from hub.errors import HubError

    try:
        result = app(args=argv, prog_name="hub", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("aborted")
        return 1
    except TyperException as exc:  # typer's usage errors (its own copy of click's)
        _show_usage_error(exc)
        return exc.exit_code
    except HubError as exc:
        err.print("[red]error:[/]", escape(str(exc)), highlight=False, soft_wrap=True)
        return exc.exit_code
    except ConnectorError as exc:
        err.print("[red]error:[/]", escape(str(exc)), highlight=False, soft_wrap=True)
        return 5
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
