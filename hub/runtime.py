"""The hub's runtime: settings, config, store, audit and connector factory for one process.

The CLI and the API each build one and call the same services with it.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connectors.sdk import Connector
from connectors.sdk.http import CallHook, CallRecord
from connectors.sdk.ratelimit import PROCESS_BUDGETS, BudgetStore
from connectors.sdk.redaction import Redactor, secret_values
from connectors.sdk.registry import load_connector
from hub.config.mapping_files import MappingLibrary
from hub.core.call_metrics import observe_call
from hub.core.settings import Settings
from hub.store.budgets import RedisBudgetStore, SqlBudgetStore
from hub.store.nonces import SqlNonceStore
from hub.store.tokens import SqlTokenCache

from .audit import AuditLog
from .config import LoadedConfig, load_config
from .errors import NotFoundError
from .store import migrate
from .store.engine import StoreLocation, create_engine, session_factory, store_location

__all__ = ["Hub"]


class Hub:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.mappings = MappingLibrary(settings.mappings_dir)
        self.redactor = Redactor()
        self.store: StoreLocation = store_location(settings.database_url)  # resolved once

    @functools.cached_property
    def engine(self) -> Engine:
        return create_engine(self.store.url)

    @functools.cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @functools.cached_property
    def audit(self) -> AuditLog:
        # Shares self.redactor, which learns each connection's secrets when the config
        # loads; reading the log (tail, verify) needs no config at all.
        return AuditLog(self.sessions, self.redactor, settings=self.settings)

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

    @functools.cached_property
    def token_cache(self) -> SqlTokenCache:
        """Vendor tokens shared by every process on the store (one fetch, one refresh)."""
        return SqlTokenCache(self.sessions)

    @functools.cached_property
    def nonce_store(self) -> SqlNonceStore:
        """Callback nonces shared by every process on the store (replays are refused)."""
        return SqlNonceStore(self.sessions)

    def upgrade_db(self) -> None:
        migrate.upgrade(self.engine)

    def connector(
        self, connection: str, *, actor: str,
        transport: httpx.AsyncBaseTransport | None = None,
        observe: CallHook | None = None,
        audit_hook: CallHook | None = None,
    ) -> Connector[Any]:
        """A connector for a configured connection, auditing every call as `actor` (and
        passing each call record to `observe` too, e.g. to count a run's retries).

        `audit_hook` replaces the default hook, which audits each call in a transaction of
        its own: the outbox batches a write's calls into the transaction that settles it.
        """
        spec = self.config.hub.connections.get(connection)
        if spec is None:
            known = ", ".join(sorted(self.config.hub.connections)) or "none"
            raise NotFoundError(f"no connection '{connection}'; defined: {known}")
        connector_class = load_connector(spec.type)
        extra: dict[str, Any] = {}
        if _accepts(connector_class, "token_cache"):
            extra["token_cache"] = self.token_cache  # app tokens shared through the store
        return connector_class(
            self.config.connection_configs[connection],
            connection=connection,
            on_call=_both(audit_hook or self.audit.call_hook(actor), observe),
            transport=transport,
            budget_store=self.budget_store,
            **extra,
        )

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


@functools.cache
def _accepts(connector_class: type, name: str) -> bool:
    """Whether the connector's constructor takes keyword `name` (not merely **kwargs)."""
    parameters = inspect.signature(connector_class).parameters
    parameter = parameters.get(name)
    return parameter is not None and parameter.kind in (
        inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _both(audit: CallHook, observe: CallHook | None) -> CallHook:
    """Every call goes to the process's latency metrics, the audit hook and `observe`."""
    def on_call(call: CallRecord) -> None:
        observe_call(call)
        audit(call)
        if observe is not None:
            observe(call)

    return on_call
