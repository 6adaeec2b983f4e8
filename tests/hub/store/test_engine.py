"""The store's engines: PostgreSQL plans each query afresh (no plan kept from when a table
was small); SQLite runs in WAL mode."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.store.engine import create_engine


@pytest.mark.postgres
def test_postgres__no_server_side_prepared_statements(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        connection = engine.raw_connection()
        try:
            assert connection.driver_connection.prepare_threshold is None  # type: ignore[union-attr]
            cursor = connection.cursor()
            for _ in range(8):  # past psycopg's default threshold of 5
                cursor.execute("select 1 where 1 = %s", (1,))
            cursor.execute("select count(*) from pg_prepared_statements")
            assert cursor.fetchone() == (0,)
        finally:
            connection.close()
    finally:
        engine.dispose()


def test_sqlite__runs_in_wal_mode(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("create table t (x integer)"))
            assert connection.exec_driver_sql("pragma journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
