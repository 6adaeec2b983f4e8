"""The `hub` command line, one module per command group (`cli.py` at the top builds the app
from them and turns errors into exit codes): connectors, config (config, db, doctor),
mappings, sync, tickets, audit, notify, imports, outbox (outbox, dlq, reconcile), jobs (jobs,
runs, scheduler, worker), apikeys, enrich, sandbox, serve and demo. `context` holds the one
`CliContext` of a run; `render/` the terminal views."""

__all__: list[str] = []
