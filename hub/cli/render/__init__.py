"""Terminal views (rich), one module per topic: tickets, runs (jobs, runs, a pull's summary),
imports, notify, the outbox (and reconciliation), audit, API keys, connectors, doctor and
mappings. The CLI's commands and the demo print them."""

__all__: list[str] = []
