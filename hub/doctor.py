"""`hub doctor`: what is wrong with this installation, in plain words.

Checks, in order: the config file (every problem with its line), the mappings its jobs use,
the store (reachable, schema current), the shared rate-budget store when it is Redis, and
every connection (reachable, credentials accepted, permitted), probed concurrently. Each
finding says what to do about it. Nothing is written except the connections' audit rows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import text

from .connection_views import check_connection
from .errors import ConfigFileError, HubError
from .runtime import Hub
from .store.migrate import current_revision, head_revision

__all__ = ["Finding", "diagnose"]


@dataclass(frozen=True)
class Finding:
    area: str  # config, store, redis, connection:<name>
    ok: bool
    message: str


async def diagnose(hub: Hub, *, actor: str) -> list[Finding]:
    config, store = _config(hub), _store(hub)
    findings = [config, store]
    if hub.settings.rate_budget_store == "redis":
        findings.append(_redis(hub))
    if config.ok and store.ok:  # connection checks are audited: they need the store
        names = sorted(hub.config.hub.connections)
        checks = await asyncio.gather(*(_connection(hub, name, actor) for name in names))
        findings.extend(checks)
    return findings


def _config(hub: Hub) -> Finding:
    try:
        loaded = hub.config
        for job in loaded.hub.jobs.values():
            hub.mappings.get(job.mapping)
    except ConfigFileError as exc:
        return Finding("config", False, f"{len(exc.problems)} problem(s) in the config or "
                       f"its mappings; fix them and run `hub config validate`:\n{exc}")
    except HubError as exc:
        return Finding("config", False, str(exc))
    return Finding("config", True, f"{loaded.path}: {len(loaded.hub.connections)} "
                   f"connections, {len(loaded.hub.jobs)} jobs")


def _store(hub: Hub) -> Finding:
    where = hub.engine.url.render_as_string(hide_password=True)
    try:
        with hub.engine.connect() as connection:
            connection.execute(text("select 1"))
        current = current_revision(hub.engine)
    except Exception as exc:  # noqa: BLE001 -- any failure means "cannot use the store"
        reason = hub.redactor.text(str(exc).splitlines()[0])
        return Finding("store", False, f"cannot reach the store at {where}: {reason}. Is the "
                       "database running, and HUB_DATABASE_URL right?")
    head = head_revision()
    if current != head:
        return Finding("store", False, f"the schema at {where} is at revision {current}, "
                       f"the code needs {head}: run `hub db upgrade`")
    return Finding("store", True, f"{where}, schema at revision {current}")


def _redis(hub: Hub) -> Finding:
    try:
        import redis

        client = redis.Redis.from_url(hub.settings.redis_url, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:  # noqa: BLE001 -- reported in plain words
        return Finding("redis", False, f"the rate budgets are shared through Redis, which "
                       f"does not answer at {hub.redactor.text(hub.settings.redis_url)} "
                       f"({type(exc).__name__}); start it or set HUB_RATE_BUDGET_STORE")
    return Finding("redis", True, "answers")


async def _connection(hub: Hub, name: str, actor: str) -> Finding:
    outcome = await check_connection(hub, name, actor=actor)
    area = f"connection:{name}"
    if outcome.ok:
        return Finding(area, True, f"reachable, credentials accepted ({outcome.latency_ms} ms)")
    if not outcome.reachable:
        advice = "not reachable: check its base_url and the network"
    elif not outcome.authenticated:
        advice = "reachable, but the credentials are refused: check its secrets"
    else:
        advice = "the credentials are accepted but lack a permission it needs"
    return Finding(area, False, f"{advice} ({outcome.detail})" if outcome.detail else advice)
