"""The hub core: settings, store, audit, mapping, sync, tickets, API."""
