"""`hub doctor`: what is wrong with this installation, in plain words.

Checks, in order: the config file (every problem with its line), the mappings its jobs use,
the store (reachable, schema current), where the audit chain's key comes from, the shared
rate-budget store when it is Redis, the
Celery broker when HUB_BROKER_URL is set (a host running workers or the scheduler), and
every connection (reachable, credentials accepted, permitted), probed concurrently. Each
finding says what to do about it. Nothing is written except the connections' audit rows.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import text

from hub.admin.connections import check_connection
from hub.errors import ConfigFileError, HubError
from hub.runtime import Hub
from hub.store.migrate import current_revision, head_revision

__all__ = ["Finding", "diagnose"]


@dataclass(frozen=True)
class Finding:
    area: str  # config, store, audit, redis, broker, connection:<name>
    ok: bool
    message: str


async def diagnose(hub: Hub, *, actor: str) -> list[Finding]:
    config, store = _config(hub), _store(hub)
    findings = [config, store, _audit_key(hub)]
    if hub.settings.rate_budget_store == "redis":
        findings.append(_redis(hub))
    if "HUB_BROKER_URL" in os.environ:  # this host runs `hub worker` / the Celery scheduler
        findings.append(_broker(hub))
    if config.ok and store.ok:  # connection checks are audited: they need the store
        names = sorted(hub.config.hub.connections)
        checks = await asyncio.gather(*(_connection(hub, name, actor) for name in names))
        findings.extend(checks)
    return findings


def _config(hub: Hub) -> Finding:
    try:
        loaded = hub.config
        for job in loaded.hub.jobs.values():
            if (mapping := getattr(job, "mapping", None)) is not None:
                hub.mappings.get(mapping)
    except ConfigFileError as exc:
        return Finding("config", False, f"{len(exc.problems)} problem(s) in the config or "
                       f"its mappings; fix them and run `hub config validate`:\n{exc}")
    except HubError as exc:
        return Finding("config", False, str(exc))
    return Finding("config", True, f"{loaded.path}: {len(loaded.hub.connections)} "
                   f"connections, {len(loaded.hub.jobs)} jobs")


def _store(hub: Hub) -> Finding:
    where = hub.store.shown
    if not hub.store.exists():
        return Finding("store", False, f"no store yet at {where} (HUB_DATABASE_URL): "
                       "run `hub db upgrade` to create it")
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


def _audit_key(hub: Hub) -> Finding:
    """Where the key signing the audit chain comes from; reads it, never makes one."""
    settings = hub.settings
    if settings.audit_key is not None and settings.audit_key.get_secret_value():
        return Finding("audit", True, "the chain is signed with HUB_AUDIT_KEY")
    where = settings.audit_key_file
    made = "was generated" if where.is_file() else "will be generated on the first write"
    return Finding("audit", True, f"the chain's key {made} in {where}, beside the store: "
                   "anyone who can read that file can forge the log; in production set "
                   "HUB_AUDIT_KEY from a secret store (docs/security.md)")


def _redis(hub: Hub) -> Finding:
    try:
        import redis

        client = redis.Redis.from_url(hub.settings.redis_url, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:  # noqa: BLE001 -- reported in plain words
        return Finding("redis", False, f"the rate budgets are shared through Redis, which "
                       f"does not answer at {_safe_url(hub.settings.redis_url)} "
                       f"({type(exc).__name__}); start it or set HUB_RATE_BUDGET_STORE")
    return Finding("redis", True, "answers")


def _safe_url(url: str) -> str:
    """The URL with its password masked (a broker or Redis URL carries it inline)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


def _broker(hub: Hub) -> Finding:
    where = _safe_url(hub.settings.broker_url)
    try:
        from kombu import Connection

        with Connection(hub.settings.broker_url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except ImportError:
        return Finding("broker", False, "HUB_BROKER_URL is set but Celery is not installed: "
                       "pip install -e '.[celery]'")
    except Exception as exc:  # noqa: BLE001 -- reported in plain words
        return Finding("broker", False, f"the Celery broker does not answer at {where} "
                       f"({type(exc).__name__}); start it, or fix HUB_BROKER_URL")
    if hub.engine.dialect.name == "sqlite":
        return Finding("broker", False, f"the broker answers at {where}, but the store is "
                       "SQLite: workers on other machines cannot share it; use PostgreSQL")
    return Finding("broker", True, f"answers at {where}")


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
