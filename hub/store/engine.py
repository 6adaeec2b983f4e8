"""Engines and sessions for SQLite (default) and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as _sa_create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hub.core.jsonable import json_text

__all__ = ["StoreLocation", "create_engine", "session_factory", "store_location"]


@dataclass(frozen=True)
class StoreLocation:
    """Where the store is, resolved once for a process: `url` (a SQLite file's path made
    absolute against the working directory), `shown` (the password hidden) and, for SQLite,
    the file."""

    url: str
    shown: str
    file: Path | None

    def exists(self) -> bool:
        """Whether there is a store there yet (a server database is taken to exist)."""
        return self.file is None or self.file.exists()


def store_location(database_url: str) -> StoreLocation:
    """The one place `HUB_DATABASE_URL` is resolved: every command and `hub doctor` name the
    store as this says."""
    url = make_url(database_url)
    file: Path | None = None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        file = Path(url.database).expanduser().resolve()
        url = url.set(database=str(file))
    return StoreLocation(url=url.render_as_string(hide_password=False),
                         shown=url.render_as_string(hide_password=True), file=file)


def create_engine(database_url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the hub: SQLite in WAL mode with write transactions taken up front
    and JSON columns written compact (hub.core.jsonable.json_text)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg":
        # No server-side prepared statements: psycopg prepares a query after its fifth run,
        # and PostgreSQL may then keep one generic plan for it. Planned while a table is
        # small or its statistics stale (a first bulk load; autovacuum off or behind), that
        # plan is a sequential scan, kept as the table grows: a pull's `external_id IN (…)`
        # lookup went from 1 ms to 1 s a page at 100,000 rows. Planning each time is cheap.
        connect_args = {"prepare_threshold": None, **kwargs.pop("connect_args", {})}
        return _sa_create_engine(url, pool_pre_ping=True, connect_args=connect_args,
                                 **kwargs)
    if url.get_backend_name() != "sqlite":
        return _sa_create_engine(url, pool_pre_ping=True, **kwargs)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("json_serializer", json_text)
    engine = _sa_create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on busy_timeout
        # instead of one failing with SQLITE_BUSY when it upgrades a read snapshot. A
        # connection marked `read_only` never writes: a deferred BEGIN lets it read beside
        # the writer (WAL) instead of queueing behind it.
        if connection.get_execution_options().get("read_only"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
