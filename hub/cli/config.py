"""`hub config validate`, `hub db upgrade` and `hub doctor`: is the hub set up right?"""

from __future__ import annotations

import typer
from rich.text import Text

from hub.cli.context import cli_context

__all__ = ["config_app", "db_app", "doctor"]

config_app = typer.Typer(help="configs/hub.yaml.", no_args_is_help=True)
db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the store's schema to the latest revision."""
    from hub.store.migrate import current_revision

    cli = cli_context(ctx)
    hub = cli.ready_hub()
    cli.out.print(f"schema at revision {current_revision(hub.engine)}")


@config_app.command("validate")
def config_validate(ctx: typer.Context) -> None:
    """Check hub.yaml, its connections' configs and the mappings its jobs use."""
    cli = cli_context(ctx)
    hub = cli.hub
    config = hub.config
    for job in config.hub.jobs.values():
        if (mapping := getattr(job, "mapping", None)) is not None:
            hub.mappings.get(mapping)
    from hub.admin.mapping_fields import config_field_problems
    from hub.errors import ConfigFileError

    if problems := config_field_problems(hub):  # fields their target has no place for
        raise ConfigFileError(problems)
    cli.out.print(Text.assemble(
        ("ok", "green"), f": {config.path} — {len(config.hub.connections)} connections, "
        f"{len(config.hub.jobs)} jobs, {len(config.hub.webhooks)} webhooks, "
        f"{len(config.hub.rules)} rules"))


def doctor(ctx: typer.Context) -> None:
    """Check the config, the store, Redis (if used) and every connection; say what is wrong
    in plain words. Exits 2 when the config or its mappings do not load, 1 when anything
    else is wrong."""
    from hub.admin.doctor import diagnose
    from hub.cli.render.doctor import findings_table

    cli = cli_context(ctx)
    findings = cli.run(diagnose(cli.hub, actor=cli.actor))
    config_loads = all(finding.ok for finding in findings if finding.area == "config")
    cli.out.print(findings_table(findings))
    if not config_loads:
        raise typer.Exit(2)  # as `hub config validate`
    if not all(finding.ok for finding in findings):
        raise typer.Exit(1)
