"""The hub's runtime: settings, config, store, audit and connector factory for one process.

The CLI and the API each build one and call the same services with it.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connectors.sdk import (
    PROCESS_BUDGETS,
    BudgetStore,
    Connector,
    Redactor,
    load_connector,
    secret_values,
)

from .audit import AuditLog
from .budget_store import RedisBudgetStore, SqlBudgetStore
from .config import LoadedConfig, load_config
from .errors import NotFoundError
from .mappings import MappingLibrary
from .settings import Settings
from .store import migrate
from .store.engine import create_engine, session_factory

__all__ = ["Hub"]


class Hub:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.mappings = MappingLibrary(settings.mappings_dir)
        self.redactor = Redactor()

    @functools.cached_property
    def engine(self) -> Engine:
        return create_engine(self.settings.database_url)

    @functools.cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @functools.cached_property
    def audit(self) -> AuditLog:
        # Shares self.redactor, which learns each connection's secrets when the config
        # loads; reading the log (tail, verify) needs no config at all.
        return AuditLog(self.sessions, self.redactor)

    @functools.cached_property
    def config(self) -> LoadedConfig:
        loaded = load_config(self.settings.config, mappings=self.mappings)
        for connection_config in loaded.connection_configs.values():
            self.redactor.add(*secret_values(connection_config))
        return loaded

    @functools.cached_property
    def budget_store(self) -> BudgetStore:
        kind = self.settings.rate_budget_store
        if kind == "redis":
            return RedisBudgetStore(self.settings.redis_url)
        if kind == "memory":
            return PROCESS_BUDGETS
        return SqlBudgetStore(self.sessions)

    def upgrade_db(self) -> None:
        migrate.upgrade(self.engine)

    def connector(
        self, connection: str, *, actor: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Connector[Any]:
        """A connector for a configured connection, auditing every call as `actor`."""
        spec = self.config.hub.connections.get(connection)
        if spec is None:
            known = ", ".join(sorted(self.config.hub.connections)) or "none"
            raise NotFoundError(f"no connection '{connection}'; defined: {known}")
        connector_class = load_connector(spec.type)
        return connector_class(
            self.config.connection_configs[connection],
            connection=connection,
            on_call=self.audit.call_hook(actor),
            transport=transport,
            budget_store=self.budget_store,
        )

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
